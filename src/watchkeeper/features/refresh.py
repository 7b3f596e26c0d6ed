"""Deferred issue refreshes: repeats coalesced by `incident.decide` (a burst of the same
failure updates the record only) are shown in one body update per incident once the window
has passed. ``serve`` runs the pass every few seconds under a store lease (one replica at a
time); a pass with nothing stale costs one store read and no GitHub call.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from watchkeeper.incident import refresh_stale
from watchkeeper.logs import bind
from watchkeeper.scheduler import LeasedJob

if TYPE_CHECKING:
    from watchkeeper.wiring import Runtime

log = logging.getLogger("watchkeeper.refresh")

LEASE = "refresh-stale"
TICK_SECONDS = 5.0


async def refresh_pass(runtime: Runtime) -> list[str]:
    """Refresh every incident whose coalesced sections are due; returns their IDs."""
    pipeline, refreshed = runtime.pipeline, []
    stale = [i for i in await runtime.store.list_incidents(open_only=True)
             if i.stale_sections and i.issue_number is not None
             and i.installation_id is not None]
    if not stale:
        return refreshed
    async with runtime.gateway.session():
        for incident in stale:
            with bind(incident_id=incident.id):
                try:
                    config = await pipeline.config_for(incident.installation_id, incident.repo)
                    decision = refresh_stale(incident, config, runtime.clock.now())
                    if decision.actions:
                        # As a retry: the section update reads the body before it writes.
                        await pipeline.apply(incident, decision, first_attempt=False)
                        refreshed.append(incident.id)
                except Exception as exc:  # conflict, GitHub down: the next pass retries
                    log.info("refreshing %s deferred: %s", incident.id, exc)
    return refreshed


def install(runtime: Runtime) -> None:
    job = LeasedJob(runtime.store, runtime.clock, lambda: refresh_pass(runtime), name=LEASE,
                    interval=TICK_SECONDS)
    runtime.jobs.append(job.run)
