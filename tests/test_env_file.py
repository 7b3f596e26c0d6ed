"""`.env` support: `watchkeeper serve` reads the environment over a `.env` file."""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from watchkeeper import cli
from watchkeeper.github.fake import demo_private_key
from watchkeeper.settings import SettingsError
from watchkeeper.setup.dotenv import render_dotenv
from watchkeeper.subcommands.environment import load_settings, read_environment

VARIABLES = ("APP_ID", "PRIVATE_KEY", "PRIVATE_KEY_PATH", "WEBHOOK_SECRET", "DATABASE_URL",
             "PORT", "HOST", "LOG_LEVEL", "LOG_FORMAT", "GITHUB_API_URL", "WEBHOOK_PATH",
             "APP_SLUG")


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    for name in VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture
def served(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[tuple[Any, str, int]]]:
    """`serve` up to the point of listening; the app's store is closed afterwards."""
    calls: list[tuple[Any, str, int]] = []
    monkeypatch.setattr(cli, "run_http", lambda app, host, port: calls.append((app, host, port)))
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield calls
    for app, _, _ in calls:
        asyncio.run(app.state.store.close())
    root.handlers[:] = handlers
    root.setLevel(level)


def write_env(path: Path, **values: str) -> Path:
    path.write_text(render_dotenv(values), encoding="utf-8")
    os.chmod(path, 0o600)
    return path


def settings_file(tmp_path: Path, name: str = ".env", **extra: str) -> Path:
    return write_env(tmp_path / name, APP_ID="11", PRIVATE_KEY=demo_private_key(),
                     WEBHOOK_SECRET="secret-from-file", PORT="4000",
                     DATABASE_URL=f"sqlite:///{tmp_path / 'wk.db'}", **extra)


def test_serve_reads_dot_env_in_the_working_directory(
    clean_env: Path, served: list[tuple[Any, str, int]]
) -> None:
    settings_file(clean_env)
    assert cli.main(["serve"]) == 0
    [(app, host, port)] = served
    assert (host, port) == ("0.0.0.0", 4000)
    assert app.state.settings.app_id == 11
    assert app.state.settings.webhook_secrets == ("secret-from-file",)


def test_the_environment_wins_over_the_file(
    clean_env: Path, served: list[tuple[Any, str, int]], monkeypatch: pytest.MonkeyPatch
) -> None:
    path = settings_file(clean_env, "prod.env")
    monkeypatch.setenv("WEBHOOK_SECRET", "secret-from-env")
    monkeypatch.setenv("APP_ID", "")  # empty counts as unset: the file's value applies
    assert cli.main(["serve", "--env-file", str(path), "--port", "4100"]) == 0
    [(app, _, port)] = served
    assert port == 4100
    assert app.state.settings.webhook_secrets == ("secret-from-env",)
    assert app.state.settings.app_id == 11


def test_a_named_env_file_must_exist(clean_env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["serve", "--env-file", "missing.env"]) == 2
    assert capsys.readouterr().err == "watchkeeper: --env-file missing.env: no such file\n"


def test_a_broken_env_file_is_one_line(clean_env: Path, capsys: pytest.CaptureFixture[str]
                                       ) -> None:
    (clean_env / ".env").write_text("APP_ID=1\nthis is not an assignment\n", encoding="utf-8")
    assert cli.main(["serve"]) == 2
    assert capsys.readouterr().err == "watchkeeper: .env: line 2: expected KEY=value\n"


def test_no_env_file_and_no_environment_names_the_first_missing_variable(
    clean_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["serve"]) == 2
    assert capsys.readouterr().err == "watchkeeper: APP_ID is required\n"


def test_a_readable_env_file_is_warned_about(clean_env: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    path = settings_file(clean_env)
    os.chmod(path, 0o644)
    assert load_settings(None, {}).app_id == 11
    assert "other users can read it (run: chmod 600 .env)" in capsys.readouterr().err


def test_read_environment_merges_in_order(clean_env: Path) -> None:
    write_env(clean_env / ".env", A="file", B="file", C="file")
    assert read_environment(None, {"B": "env", "C": " "}) == {"A": "file", "B": "env",
                                                              "C": "file"}
    with pytest.raises(SettingsError, match="no such file"):
        read_environment("other.env", {})
