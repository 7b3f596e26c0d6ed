"""``watchkeeper sweep``: run the SLA clock once and exit (for cron-style deployments).

The same sweep ``serve`` runs every SWEEP_INTERVAL seconds: reminders, breaches and the
weekly review when due. It takes the same store lease, so a sweep started while another
(or a running server's) holds it does nothing and says so. Set SWEEP_INTERVAL=0 on the
servers when cron drives the clock.

Exit status: 0 swept (or the lease was held elsewhere), 1 some incident failed (the next
sweep retries it), 2 the settings or the store are unusable.
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
    parser.add_argument("--review", action="store_true",
                        help="write this week's security review now, even before its "
                        "scheduled time or when it was already written (updated in place)")
    add_env_file_option(parser)


def run(args: argparse.Namespace) -> int:
    import asyncio

    from watchkeeper.cli import start_logging
    from watchkeeper.settings import SettingsError

    try:
        settings = load_settings(args.env_file)
    except SettingsError as exc:
        print(f"watchkeeper sweep: {exc}", file=sys.stderr)
        return 2
    start_logging(settings)
    from watchkeeper.wiring import build_runtime

    try:
        runtime = build_runtime(settings)
    except Exception as exc:  # the store refused to open: one line, no traceback
        print(f"watchkeeper sweep: cannot start: {exc}", file=sys.stderr)
        return 2
    return asyncio.run(_run_and_close(runtime, args.review))


async def _run_and_close(runtime: Runtime, review: bool) -> int:
    try:
        return await sweep_once(runtime, review=review)
    finally:
        await runtime.store.close()


async def sweep_once(runtime: Runtime, *, review: bool = False,
                     out: TextIO | None = None) -> int:
    """Take the sweep lease, sweep, give the lease back; print what happened."""
    from watchkeeper.features.slaclock import SWEEP_LEASE, sweep
    from watchkeeper.scheduler import holder_name

    out = out or sys.stdout
    holder = holder_name()
    store = runtime.store
    if not await store.try_lease(SWEEP_LEASE, holder, runtime.clock.now(), LEASE_SECONDS):
        print("another sweep holds the lease (a server or a cron run): nothing done", file=out)
        return 0
    try:
        report = await sweep(runtime, force_review=review)
    finally:
        await store.release_lease(SWEEP_LEASE, holder)
    print(f"looked at {report.looked_at} incident(s), {report.skipped} with nothing due",
          file=out)
    for line in report.effects:
        print(f"  {line}", file=out)
    for line in report.reviews:
        print(f"  weekly review {line}", file=out)
    for incident_id in report.failed:
        print(f"  failed: {incident_id} (retried by the next sweep)", file=out)
    return 1 if report.failed else 0
