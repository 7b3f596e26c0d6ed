"""``watchkeeper rebuild``: restore the incident records from GitHub after the database was lost.

Reads every installation's incident issues (their hidden metadata, timeline and evidence) and
inserts the records the store lacks; what cannot be recovered is printed. Then ``serve`` goes
on where it stopped: a repeated failure joins its rebuilt incident, new incidents take IDs
after the highest one found. Safe to run twice.

Exit status: 0 rebuilt, 1 some issues or repositories could not be read (run it again),
2 the settings or the store are unusable.
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, TextIO

from watchkeeper.subcommands.environment import add_env_file_option, load_settings

if TYPE_CHECKING:
    from watchkeeper.maintenance.rebuild import RebuildReport


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--dry-run", action="store_true",
                        help="read GitHub and report what would be restored; write nothing")
    add_env_file_option(parser)


def run(args: argparse.Namespace) -> int:
    import asyncio

    from watchkeeper.cli import start_logging
    from watchkeeper.settings import SettingsError

    try:
        settings = load_settings(args.env_file)
    except SettingsError as exc:
        print(f"watchkeeper rebuild: {exc}", file=sys.stderr)
        return 2
    start_logging(settings)
    from watchkeeper.wiring import build_runtime

    try:
        runtime = build_runtime(settings)
    except Exception as exc:  # the store refused to open: one line, no traceback
        print(f"watchkeeper rebuild: cannot start: {exc}", file=sys.stderr)
        return 2

    async def go() -> int:
        from watchkeeper.maintenance.rebuild import rebuild

        try:
            report = await rebuild(runtime.gateway, runtime.store, runtime.clock.now(),
                                   dry_run=args.dry_run)
        finally:
            await runtime.store.close()
        return print_report(report, dry_run=args.dry_run)

    try:
        return asyncio.run(go())
    except Exception as exc:  # GitHub refused the app itself (key, app ID, clock)
        print(f"watchkeeper rebuild: {exc}", file=sys.stderr)
        return 2


def print_report(report: RebuildReport, *, dry_run: bool = False,
                 out: TextIO | None = None) -> int:
    out = out or sys.stdout
    verb = "would restore" if dry_run else "restored"
    print(f"{report.installations} installation(s), {report.repositories} repositories, "
          f"{report.issues} incident issue(s): {verb} {len(report.restored)}, "
          f"{len(report.present)} already in the store", file=out)
    for incident_id in report.restored:
        print(f"  {verb} {incident_id}", file=out)
    for where in report.unreadable:
        print(f"  no readable Watchkeeper metadata: {where}", file=out)
    for what in report.conflicts:
        print(f"  not restored, another open incident tracks the same failure: {what}",
              file=out)
    for what in report.failed:
        print(f"  could not be read (run again): {what}", file=out)
    if report.counter:
        print(f"new incidents are numbered after {report.counter}", file=out)
    if report.restored:
        print("not recoverable from GitHub:", file=out)
        for line in report.lost:
            print(f"  - {line}", file=out)
    return 1 if report.failed or report.unreadable else 0
