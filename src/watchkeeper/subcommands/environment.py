"""Settings for commands that run the app: the real environment over a ``.env`` file.

``watchkeeper setup`` writes ``.env``; ``serve`` (and every command that builds the runtime)
reads it, so a first run needs no ``export``. A variable set to a non-empty value in the real
environment wins over the file (the twelve-factor order; an orchestrator's value must not be
overridden by a forgotten file). The file is optional unless named with ``--env-file``.
"""

from __future__ import annotations

import argparse
import os
import stat
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # imported when used: `--help` must not pay for the app's dependencies
    from watchkeeper.settings import Settings

DEFAULT_ENV_FILE = ".env"


def add_env_file_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--env-file",
        metavar="PATH",
        help=f"read settings from this file (default: {DEFAULT_ENV_FILE} when present); "
        "variables set in the environment win",
    )


def read_environment(
    env_file: str | None, environ: Mapping[str, str] | None = None
) -> dict[str, str]:
    """The file's values overlaid with the non-empty values of ``environ``.

    Raises SettingsError (one line) for a named file that is missing or unreadable.
    """
    from watchkeeper.settings import SettingsError
    from watchkeeper.setup.dotenv import DotenvError, load_dotenv

    environ = os.environ if environ is None else environ
    path = Path(env_file or DEFAULT_ENV_FILE)
    if env_file is not None and not path.is_file():
        raise SettingsError(f"--env-file {env_file}: no such file")
    try:
        values = load_dotenv(path)
    except DotenvError as exc:
        raise SettingsError(f"{path}: {exc}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SettingsError(f"{path} cannot be read ({type(exc).__name__})") from None
    if values:
        _warn_if_shared(path)
    return {**values, **{k: v for k, v in environ.items() if v.strip()}}


def load_settings(env_file: str | None, environ: Mapping[str, str] | None = None) -> Settings:
    """``Settings.from_env`` over :func:`read_environment`; raises SettingsError."""
    from watchkeeper.settings import Settings

    return Settings.from_env(read_environment(env_file, environ))


def _warn_if_shared(path: Path) -> None:
    try:
        mode = path.stat().st_mode
    except OSError:
        return
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        print(f"watchkeeper: warning: {path} holds secrets but other users can read it "
              f"(run: chmod 600 {path})", file=sys.stderr)
