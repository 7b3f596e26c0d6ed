"""``watchkeeper report --since 30d``: response figures from the stored incident records.

MTTA, time to contain and MTTR (detection to fixed) per severity, with SLA compliance of
the steps whose deadline the SLA clock stored, for incidents detected in the window.
Reads only the store (DATABASE_URL, or ``--database-url``): no GitHub call, no app key.

Exit status: 0 printed, 2 bad arguments or no usable store.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TextIO

from watchkeeper.subcommands.environment import add_env_file_option, read_environment

_SPAN = re.compile(r"^(?P<n>[1-9][0-9]{0,4})(?P<unit>[hdw])$")
_UNITS = {"h": timedelta(hours=1), "d": timedelta(days=1), "w": timedelta(weeks=1)}


class ReportError(Exception):
    """Bad input; the message is one line."""


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--since", default="30d", metavar="SPAN",
                        help="window start: 12h, 30d, 8w, or a date YYYY-MM-DD (default: 30d)")
    parser.add_argument("--until", metavar="TIME",
                        help="window end, an ISO 8601 date or time (default: now)")
    parser.add_argument("--format", choices=("text", "json"), default="text",
                        help="output format (default: text)")
    parser.add_argument("--database-url", metavar="URL",
                        help="the store to read (default: DATABASE_URL)")
    add_env_file_option(parser)


def parse_time(text: str) -> datetime:
    """An ISO date (midnight UTC) or date-time (UTC when no offset is given)."""
    try:
        value = (datetime.combine(date.fromisoformat(text), datetime.min.time())
                 if len(text) == 10 else datetime.fromisoformat(text))
    except ValueError:
        raise ReportError(f"not an ISO 8601 date or time: {text!r}") from None
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def window(since: str, until: str | None, now: datetime) -> tuple[datetime, datetime]:
    end = parse_time(until) if until else now
    found = _SPAN.match(since.strip())
    start = end - int(found["n"]) * _UNITS[found["unit"]] if found else parse_time(since)
    if start >= end:
        raise ReportError("the window is empty: --since must be before --until")
    return start, end


def run(args: argparse.Namespace, out: TextIO | None = None) -> int:
    import asyncio

    out = out or sys.stdout
    try:
        start, end = window(args.since, args.until, datetime.now(UTC))
        url = args.database_url or read_environment(args.env_file).get(
            "DATABASE_URL", "sqlite:///watchkeeper.db")
        if url.startswith("sqlite:///") and not Path(url[len("sqlite:///"):]).exists():
            raise ReportError(f"no database at {url[len('sqlite:///'):]}")
    except (ReportError, ValueError) as exc:
        print(f"watchkeeper report: {exc}", file=sys.stderr)
        return 2
    try:
        text = asyncio.run(_report(url, start, end, args.format))
    except Exception as exc:  # the store refused to open: one line, no traceback
        print(f"watchkeeper report: cannot read the store: {exc}", file=sys.stderr)
        return 2
    print(text, file=out)
    return 0


async def _report(url: str, start: datetime, end: datetime, fmt: str) -> str:
    from watchkeeper.slaclock.figures import figures, figures_json, figures_text
    from watchkeeper.store import open_store

    store = open_store(url)
    try:
        incidents = await store.list_incidents(open_only=False)
    finally:
        await store.close()
    result = figures(incidents, start, end)
    if fmt == "json":
        return json.dumps(figures_json(result), indent=2)
    return figures_text(result)
