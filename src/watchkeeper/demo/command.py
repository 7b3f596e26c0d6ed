"""The ``watchkeeper demo`` command: parse, play, and with ``--serve`` keep everything up
behind a local page. Heavy imports wait until the command runs."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys
from datetime import UTC, datetime

DEFAULT_PORT = 8000


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--serve", action="store_true",
                        help="after the story, keep the simulated GitHub and the server running "
                             "and serve a local page showing the issues and pull requests")
    parser.add_argument("--host", default="127.0.0.1",
                        help="address of the page (default: 127.0.0.1, this machine only)")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT,
                        help=f"port of the page (default: {DEFAULT_PORT}; 0: any free port)")
    parser.add_argument("--date", type=datetime.fromisoformat, default=None,
                        help=argparse.SUPPRESS)  # the story's day, for reproducible output


def run(args: argparse.Namespace) -> int:
    from watchkeeper import logs

    if args.serve and not _page_available():
        print("watchkeeper: demo --serve renders markdown with markdown-it-py; install the "
              "demo extra: pip install 'watchkeeper[demo]'", file=sys.stderr)
        return 2
    logs.configure("WARNING", "text", sys.stderr)  # narration on stdout, problems on stderr
    try:
        return asyncio.run(_main(args))
    except KeyboardInterrupt:
        return 0


def _page_available() -> bool:
    try:
        import markdown_it  # noqa: F401
        import mdit_py_plugins  # noqa: F401
    except ImportError:
        return False
    return True


async def _until_stopped() -> None:
    """Until SIGTERM (Ctrl-C cancels this task through asyncio.run); either way the servers
    stop and the temporary directory goes."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
        loop.add_signal_handler(signal.SIGTERM, stop.set)
    try:
        await stop.wait()
    finally:
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.remove_signal_handler(signal.SIGTERM)


async def _main(args: argparse.Namespace) -> int:
    from watchkeeper.demo.play import played
    from watchkeeper.demo.serving import serving
    from watchkeeper.demo.stage import NotSettled
    from watchkeeper.demo.story import DemoFailed

    start = args.date
    if start is not None and start.tzinfo is None:
        start = start.replace(tzinfo=UTC)
    try:
        async with played(sys.stdout, start=start) as (stage, ending):
            if not args.serve:
                return 1 if ending.problems else 0
            from watchkeeper.demo.page import DemoPage

            if args.host not in ("127.0.0.1", "localhost", "::1"):
                print(f"watchkeeper: the page on {args.host} has no login: anyone who reaches "
                      "it can read the simulated GitHub and send webhooks to the demo server",
                      file=sys.stderr)
            try:
                async with serving(DemoPage(stage).app(), args.host, args.port) as url:
                    print(f"\nThe simulated GitHub and the server keep running. Open {url}/ "
                          "to read the issues and pull requests and to send your own payloads. "
                          "Ctrl-C stops.", flush=True)
                    await _until_stopped()
            except OSError as exc:
                print(f"watchkeeper: cannot serve the page on {args.host}:{args.port}: {exc}",
                      file=sys.stderr)
                return 2
    except (DemoFailed, NotSettled) as exc:
        print(f"watchkeeper: the demo stopped: {exc}", file=sys.stderr)
        return 1
    return 0
