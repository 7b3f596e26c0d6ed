"""The ``watchkeeper`` command. Thin: each subcommand parses, wires, and hands off.

Add a subcommand by writing ``_configure_x(parser)`` and ``_run_x(args) -> int``
and listing them in ``COMMANDS``. Settings are read only by commands that need
them, so ``--help`` works on a machine with no environment at all.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, TextIO

from watchkeeper import __version__
from watchkeeper.demo import command as demo
from watchkeeper.subcommands import (
    check_config,
    rebuild,
    reconcile,
    report,
    setup,
    simulate,
    sweep,
)
from watchkeeper.subcommands.environment import add_env_file_option, load_settings

if TYPE_CHECKING:
    from starlette.types import ASGIApp

    from watchkeeper.settings import Settings


@dataclass(frozen=True, slots=True)
class Command:
    name: str
    help: str
    configure: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace], int]


def _configure_serve(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", help="address to listen on (default: HOST, else 0.0.0.0)")
    parser.add_argument(
        "--port", type=int, help="port to listen on (default: PORT, else 3000)"
    )
    add_env_file_option(parser)


def _run_serve(args: argparse.Namespace) -> int:
    from watchkeeper.settings import SettingsError

    try:
        settings = load_settings(args.env_file)  # the environment over .env
    except SettingsError as exc:
        print(f"watchkeeper: {exc}", file=sys.stderr)
        return 2
    from watchkeeper.wiring import create_app

    start_logging(settings)
    try:
        app = create_app(settings)
    except Exception as exc:  # the store or wiring refused to start: one line, no traceback
        print(f"watchkeeper: cannot start: {exc}", file=sys.stderr)
        return 2
    run_http(app, args.host or settings.host, args.port if args.port is not None else settings.port)
    return 0


def start_logging(settings: Settings, stream: TextIO | None = None) -> None:
    """Log as the settings say, never printing the key or the webhook secrets (tokens are
    recognised by shape in ``logs.scrub``). For every command that runs the app."""
    from watchkeeper import logs

    logs.configure(settings.log_level, settings.log_format, stream)
    logs.redact(*secret_values(settings))


def secret_values(settings: Settings) -> list[str]:
    """Every configured value that must never be printed: the key, the webhook secrets, the
    alert receiver's token, notification URLs (a Slack webhook URL is a credential) and
    their header values."""
    values = [settings.private_key, *settings.webhook_secrets]
    token = getattr(settings, "alerts_token", None)
    if token:
        values.append(token)
    for target in getattr(settings, "notify_targets", ()):
        values.append(target.url)
        values.extend(value for _, value in target.headers)
    return values


def run_http(app: ASGIApp, host: str, port: int) -> None:
    """Serve an ASGI app the way ``watchkeeper serve`` does (also used by the benchmark)."""
    import uvicorn

    uvicorn.run(
        app,
        host=host,
        port=port,
        log_config=None,  # keep our log format
        access_log=False,  # GitHub already logs every delivery; we log outcomes
        server_header=False,
        lifespan="on",
        timeout_graceful_shutdown=15,
    )


def _configure_version(parser: argparse.ArgumentParser) -> None:
    return None


def _run_version(args: argparse.Namespace) -> int:
    print(f"watchkeeper {__version__}")
    return 0


COMMANDS: list[Command] = [
    Command("serve", "answer GitHub webhooks and process them", _configure_serve, _run_serve),
    Command("demo", "play the runbook against a simulated GitHub (no credentials, no network)",
            demo.configure, demo.run),
    Command("setup", "register the GitHub App (manifest flow) and write .env",
            setup.configure, setup.run),
    Command("simulate", "dry run: print what Watchkeeper would do for a payload",
            simulate.configure, simulate.run),
    Command("check-config", "validate a .github/watchkeeper.yml",
            check_config.configure, check_config.run),
    Command("sweep", "run the SLA clock once (reminders, breaches, weekly review) and exit",
            sweep.configure, sweep.run),
    Command("report", "response figures (MTTA, time to contain, MTTR) from the store",
            report.configure, report.run),
    Command("rebuild", "restore the incident records from GitHub after the database was lost",
            rebuild.configure, rebuild.run),
    Command("reconcile", "compare open alerts and security runs with the incidents once, "
            "for webhooks that never arrived", reconcile.configure, reconcile.run),
    Command("version", "print the version", _configure_version, _run_version),
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="watchkeeper",
        description="Security incident response, run inside GitHub.",
    )
    parser.add_argument("--version", action="version", version=f"watchkeeper {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for command in COMMANDS:
        child = sub.add_parser(command.name, help=command.help, description=command.help)
        command.configure(child)
        child.set_defaults(_run=command.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    run = getattr(args, "_run", None)
    if run is None:
        parser.print_help(sys.stderr)
        return 2
    return int(run(args))


if __name__ == "__main__":
    sys.exit(main())
