"""The scheduled reconcile inside ``serve``: one pass per RECONCILE_INTERVAL, under a store
lease (one replica at a time), resumed where it stopped when a process dies mid-pass.

The job ticks every minute at most; a tick whose pass is already complete costs one store
read and no GitHub call. The first tick after a start runs the current pass at once, which
is when missed webhooks are most likely: the server was down.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from watchkeeper.maintenance.reconcile import LEASE, pass_id_at, reconcile
from watchkeeper.scheduler import LeasedJob

if TYPE_CHECKING:
    from watchkeeper.wiring import Runtime

log = logging.getLogger("watchkeeper.reconcile")

TICK_SECONDS = 60.0
LEASE_SECONDS = 600.0  # renewed before every repository


def install(runtime: Runtime) -> None:
    interval = runtime.settings.reconcile_interval
    if interval <= 0:
        return
    job: LeasedJob

    async def keep_alive() -> bool:
        return await runtime.store.try_lease(LEASE, job.holder, runtime.clock.now(),
                                             LEASE_SECONDS)

    async def tick() -> None:
        pass_id = pass_id_at(runtime.clock.now(), interval)
        report = await reconcile(runtime, pass_id, keep_alive=keep_alive)
        if report.opened or report.changed or report.failed:
            log.info("reconcile %s: %d repositories, opened %s, updated %s, failed %s",
                     pass_id, report.repositories, report.opened or "none",
                     report.changed or "none", report.failed or "none")

    job = LeasedJob(runtime.store, runtime.clock, tick, name=LEASE,
                    interval=min(interval, TICK_SECONDS), ttl=LEASE_SECONDS)
    runtime.jobs.append(job.run)
