"""`watchkeeper setup`: the CLI flags wired to the manifest flow, the packaged app.yml, and a
whole registration through the command against a mocked conversion endpoint."""

from __future__ import annotations

import asyncio
import html
import os
import re
import socket
import stat
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx

from watchkeeper.cli import main
from watchkeeper.setup import SetupResult, load_dotenv
from watchkeeper.subcommands.setup import github_web_url, is_loopback, packaged_app_yml

ROOT = Path(__file__).resolve().parents[1]
GHES_API = "https://ghes.example.com/api/v3"
PUBLIC_HOOK = "https://wk.example.com/api/github/webhooks"
PEM = "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEAuZ\nabc+/=\n-----END RSA PRIVATE KEY-----\n"


def conversion_body() -> dict[str, object]:
    """Trimmed shape of GitHub's 201 example for POST /app-manifests/{code}/conversions."""
    return {
        "id": 4321, "slug": "watchkeeper-acme", "name": "Watchkeeper (acme)",
        "owner": {"login": "acme", "id": 1, "type": "Organization"},
        "html_url": "https://ghes.example.com/github-apps/watchkeeper-acme",
        "client_id": "Iv1.8a61f9b3a7aba766",
        "client_secret": "1726be1638095a19edd134c77bde3aa2ece1e5d8",
        "webhook_secret": "e340154128314309424b7c8e90325147d99fdafa",
        "pem": PEM,
    }


@pytest.fixture
def captured(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> list[dict[str, Any]]:
    """Replace the flow itself: what would the command hand it?"""
    calls: list[dict[str, Any]] = []

    async def fake_run_setup(**kwargs: Any) -> SetupResult:
        calls.append(kwargs)
        return SetupResult("Watchkeeper", "watchkeeper", "https://github.com/apps/watchkeeper",
                           "https://github.com/apps/watchkeeper/installations/new",
                           Path(kwargs["env_path"]), None)

    monkeypatch.setattr("watchkeeper.setup.run.run_setup", fake_run_setup)
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("GITHUB_API_URL", raising=False)
    monkeypatch.delenv("WEBHOOK_PATH", raising=False)
    return calls


def test_packaged_app_yml_is_the_repository_app_yml() -> None:
    assert packaged_app_yml() == (ROOT / "app.yml").read_text(encoding="utf-8"), (
        "copy app.yml to src/watchkeeper/app.yml")


def test_flags_reach_the_flow(captured: list[dict[str, Any]], tmp_path: Path) -> None:
    assert main(["setup", "--webhook-url", PUBLIC_HOOK, "--org", "acme", "--port", "4567",
                 "--env-file", "creds.env"]) == 0
    [kwargs] = captured
    assert kwargs["host"] == "127.0.0.1" and kwargs["port"] == 4567
    assert kwargs["base_url"] == "http://localhost:4567"
    assert kwargs["webhook_url"] == PUBLIC_HOOK and kwargs["org"] == "acme"
    assert kwargs["env_path"] == "creds.env"
    assert kwargs["api_url"] == "https://api.github.com"
    assert kwargs["github_url"] == "https://github.com"
    # No app.yml in the working directory: the packaged one.
    assert Path(kwargs["app_yml_path"]).read_text(encoding="utf-8") == packaged_app_yml()


def test_enterprise_server_and_local_app_yml(captured: list[dict[str, Any]], tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GITHUB_API_URL", GHES_API)
    (tmp_path / "app.yml").write_text(packaged_app_yml().replace("Watchkeeper", "WK"), "utf-8")
    assert main(["setup", "--base-url", "https://wk.example.com"]) == 0
    [kwargs] = captured
    assert kwargs["api_url"] == GHES_API
    assert kwargs["github_url"] == "https://ghes.example.com"
    assert kwargs["webhook_url"] is None  # the base URL is public: hooks go under it
    assert kwargs["app_yml_path"] == Path("app.yml")


def test_github_api_url_from_an_existing_env_file(captured: list[dict[str, Any]],
                                                  tmp_path: Path) -> None:
    (tmp_path / ".env").write_text(f"GITHUB_API_URL={GHES_API}\n", encoding="utf-8")
    os.chmod(tmp_path / ".env", 0o600)
    assert main(["setup", "--webhook-url", PUBLIC_HOOK]) == 0
    assert captured[0]["api_url"] == GHES_API


@pytest.mark.parametrize(("args", "message"), [
    ([], "GitHub cannot deliver webhooks to http://localhost:3000/api/github/webhooks"),
    (["--webhook-url", "http://127.0.0.1:3000/hooks"], "GitHub cannot deliver webhooks"),
    (["--webhook-url", PUBLIC_HOOK, "--app-yml", "nope.yml"], "--app-yml nope.yml: no such"),
    (["--webhook-url", PUBLIC_HOOK, "--port", "0"], "--port must be between 1 and 65535"),
    (["--webhook-url", PUBLIC_HOOK, "--org", "not an org"], "not a GitHub organisation login"),
])
def test_bad_flags_exit_2_with_one_line(captured: list[dict[str, Any]], args: list[str],
                                        message: str, capsys: pytest.CaptureFixture[str],
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    async def run_setup_validating(**kwargs: Any) -> None:
        from watchkeeper.setup.web import new_app_url

        new_app_url(kwargs["github_url"], kwargs["org"])  # what build_setup_app checks first

    monkeypatch.setattr("watchkeeper.setup.run.run_setup", run_setup_validating)
    assert main(["setup", *args]) == 2
    err = capsys.readouterr().err
    assert err.startswith("watchkeeper setup: ") and message in err


def test_stopped_before_registration_exits_1(captured: list[dict[str, Any]],
                                             monkeypatch: pytest.MonkeyPatch,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    async def stopped(**kwargs: Any) -> None:
        return None

    monkeypatch.setattr("watchkeeper.setup.run.run_setup", stopped)
    assert main(["setup", "--webhook-url", PUBLIC_HOOK]) == 1
    assert "nothing was written" in capsys.readouterr().err


def test_url_rules() -> None:
    assert github_web_url("https://api.github.com") == "https://github.com"
    assert github_web_url("https://ghes.example.com/api/v3/") == "https://ghes.example.com"
    assert is_loopback("http://localhost:3000/x") and is_loopback("http://[::1]/x")
    assert is_loopback("http://0.0.0.0/x") and not is_loopback(PUBLIC_HOOK)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def test_the_command_registers_an_app_against_a_mocked_github(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("GITHUB_API_URL", GHES_API)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with respx.mock(assert_all_called=True) as github:
        github.route(host="127.0.0.1").pass_through()
        conversion = github.post(f"{GHES_API}/app-manifests/abc123/conversions").mock(
            return_value=httpx.Response(201, json=conversion_body()))
        command = asyncio.create_task(asyncio.to_thread(main, [
            "setup", "--port", str(port), "--base-url", base, "--webhook-url", PUBLIC_HOOK,
            "--org", "acme"]))
        async with httpx.AsyncClient(base_url=base) as client:
            for _ in range(500):
                try:
                    page = (await client.get("/")).text
                    break
                except httpx.ConnectError:
                    await asyncio.sleep(0.01)
            action = html.unescape(re.search(r'<form action="([^"]+)"', page).group(1))
            assert action.startswith(
                "https://ghes.example.com/organizations/acme/settings/apps/new?state=")
            assert html.escape(PUBLIC_HOOK) in page
            state = action.split("?state=", 1)[1]
            done = await client.get("/setup/callback", params={"code": "abc123", "state": state})
        assert await asyncio.wait_for(command, timeout=10) == 0
    assert done.status_code == 200 and conversion.call_count == 1
    env = load_dotenv(tmp_path / ".env")
    assert env["APP_ID"] == "4321" and env["PRIVATE_KEY"] == PEM
    assert env["WEBHOOK_SECRET"] == "e340154128314309424b7c8e90325147d99fdafa"
    assert env["GITHUB_API_URL"] == GHES_API
    assert stat.S_IMODE((tmp_path / ".env").stat().st_mode) == 0o600
