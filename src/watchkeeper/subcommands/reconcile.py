"""``watchkeeper reconcile``: one reconcile pass now, for cron or after an outage.

Compares every installation's open alerts and newest security runs with the incidents and
makes good what missed webhooks left out (see maintenance/reconcile.py). It takes the same
store lease as the scheduled pass inside ``serve``, so the two never run at once.

Exit status: 0 reconciled (or the lease was held elsewhere), 1 some repositories failed or
were deferred for the rate limit (the next pass retries them), 2 the settings or the store
are unusable.
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, TextIO

from watchkeeper.subcommands.environment import add_env_file_option, load_settings

if TYPE_CHECKING:
    from watchkeeper.wiring import Runtime

LEASE_SECONDS = 600.0


def configure(parser: argparse.ArgumentParser) -> None:
    add_env_file_option(parser)


def run(args: argparse.Namespace) -> int:
    import asyncio

    from watchkeeper.cli import start_logging
    from watchkeeper.settings import SettingsError

    try:
        settings = load_settings(args.env_file)
    except SettingsError as exc:
        print(f"watchkeeper reconcile: {exc}", file=sys.stderr)
        return 2
    start_logging(settings)
    from watchkeeper.wiring import build_runtime

    try:
        runtime = build_runtime(settings)
    except Exception as exc:  # the store refused to open: one line, no traceback
        print(f"watchkeeper reconcile: cannot start: {exc}", file=sys.stderr)
        return 2

    async def go() -> int:
        try:
            return await reconcile_once(runtime)
        finally:
            await runtime.store.close()

    try:
        return asyncio.run(go())
    except Exception as exc:  # GitHub refused the app itself (key, app ID, clock)
        print(f"watchkeeper reconcile: {exc}", file=sys.stderr)
        return 2


async def reconcile_once(runtime: Runtime, out: TextIO | None = None) -> int:
    """Take the lease, run a fresh pass, give the lease back; print what happened."""
    from watchkeeper.maintenance.reconcile import LEASE, reconcile
    from watchkeeper.scheduler import holder_name

    out = out or sys.stdout
    holder, store = holder_name(), runtime.store
    if not await store.try_lease(LEASE, holder, runtime.clock.now(), LEASE_SECONDS):
        print("another reconcile holds the lease (a server or a cron run): nothing done",
              file=out)
        return 0

    async def keep_alive() -> bool:
        return await store.try_lease(LEASE, holder, runtime.clock.now(), LEASE_SECONDS)

    try:
        report = await reconcile(runtime, f"run:{runtime.clock.now().isoformat()}",
                                 keep_alive=keep_alive)
    finally:
        await store.release_lease(LEASE, holder)
    print(f"{report.installations} installation(s), {report.repositories} repositories: "
          f"{report.signals} signal(s) handled", file=out)
    for incident_id in report.opened:
        print(f"  opened {incident_id} (its webhook never came)", file=out)
    for incident_id in dict.fromkeys(report.changed):
        print(f"  updated {incident_id}", file=out)
    for installation in report.deferred:
        print(f"  installation {installation}: rate limit low, the next pass goes on",
              file=out)
    for name in report.failed:
        print(f"  failed: {name} (the next pass retries it)", file=out)
    return 1 if report.failed or report.deferred else 0
