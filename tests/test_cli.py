"""The command line: help without any environment, one-line start-up errors, serve wiring."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

import watchkeeper.cli as cli
from watchkeeper import __version__

VARIABLES = ("APP_ID", "PRIVATE_KEY", "PRIVATE_KEY_PATH", "WEBHOOK_SECRET", "GITHUB_API_URL",
             "DATABASE_URL", "WEBHOOK_PATH", "LOG_LEVEL", "LOG_FORMAT", "HOST", "PORT",
             "MUTATION_INTERVAL", "WORKER_CONCURRENCY", "WORKER_MAX_ATTEMPTS", "APP_SLUG")


@pytest.fixture(autouse=True)
def empty_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)  # no stray .env file


@pytest.fixture(scope="module")
def pem() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode()


def test_serve_help_needs_no_environment() -> None:
    env = {"PATH": os.environ.get("PATH", ""), "PYTHONPATH": os.pathsep.join(sys.path)}
    done = subprocess.run([sys.executable, "-m", "watchkeeper.cli", "serve", "--help"],
                          env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "--host" in done.stdout and "--port" in done.stdout
    assert done.stderr == ""


def test_serve_help_in_process(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["serve", "--help"])
    assert exit_info.value.code == 0
    assert "default: HOST, else 0.0.0.0" in capsys.readouterr().out


def test_missing_setting_stops_start_up_with_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["serve"]) == 2
    captured = capsys.readouterr()
    assert captured.err == "watchkeeper: APP_ID is required\n"
    assert captured.out == ""


def test_invalid_key_is_named_and_not_echoed(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("APP_ID", "42")
    monkeypatch.setenv("WEBHOOK_SECRET", "hunter2-hunter2")
    monkeypatch.setenv("PRIVATE_KEY", "-----BEGIN RSA PRIVATE KEY-----\\nAAAAsecretish\\n")
    assert cli.main(["serve"]) == 2
    err = capsys.readouterr().err
    assert err == "watchkeeper: PRIVATE_KEY is not an unencrypted PEM private key\n"
    assert "secretish" not in err and "hunter2" not in err


def test_serve_builds_the_app_and_listens_where_told(
    monkeypatch: pytest.MonkeyPatch, pem: str, tmp_path: Path
) -> None:
    monkeypatch.setenv("APP_ID", "42")
    monkeypatch.setenv("PRIVATE_KEY", pem)
    monkeypatch.setenv("WEBHOOK_SECRET", "hunter2-hunter2")
    monkeypatch.setenv("HOST", "127.0.0.1")
    monkeypatch.setenv("PORT", "8123")
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path}/wk.db")
    built: list[Any] = []
    served: list[tuple[Any, str, int]] = []
    sentinel = object()

    def create_app(settings: Any) -> object:
        built.append(settings)
        return sentinel

    monkeypatch.setattr("watchkeeper.wiring.create_app", create_app)
    monkeypatch.setattr(cli, "run_http", lambda app, host, port: served.append((app, host, port)))
    assert cli.main(["serve"]) == 0
    assert cli.main(["serve", "--host", "::1", "--port", "9000"]) == 0
    assert [s.app_id for s in built] == [42, 42]
    assert served == [(sentinel, "127.0.0.1", 8123), (sentinel, "::1", 9000)]


def test_wiring_failure_is_one_line(
    monkeypatch: pytest.MonkeyPatch, pem: str, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("APP_ID", "42")
    monkeypatch.setenv("PRIVATE_KEY", pem)
    monkeypatch.setenv("WEBHOOK_SECRET", "hunter2-hunter2")

    def create_app(settings: Any) -> object:
        raise RuntimeError("DATABASE_URL: the PostgreSQL store is not available yet")

    monkeypatch.setattr("watchkeeper.wiring.create_app", create_app)
    assert cli.main(["serve"]) == 2
    assert capsys.readouterr().err == (
        "watchkeeper: cannot start: DATABASE_URL: the PostgreSQL store is not available yet\n")


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["version"]) == 0
    assert capsys.readouterr().out == f"watchkeeper {__version__}\n"


def test_no_command_prints_help(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main([]) == 2
    assert "serve" in capsys.readouterr().err


def test_every_command_has_help() -> None:
    parser = cli.build_parser()
    for command in cli.COMMANDS:
        with pytest.raises(SystemExit) as exit_info:
            parser.parse_args([command.name, "--help"])
        assert exit_info.value.code == 0
