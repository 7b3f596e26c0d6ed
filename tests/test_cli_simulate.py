"""`watchkeeper simulate`: the real pipeline against the simulated GitHub, printed, offline."""

from __future__ import annotations

import json
import socket
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.support import FIXTURES, REPO, failing_secret_scan, harness, load_payload

from watchkeeper.cli import main
from watchkeeper.simulation import simulate

NOW = "2026-11-27T09:02:00Z"
TITLE = "[INC-2026-0001] critical: Workflow Secret scan failed on master"
LABELS = ["incident", "severity:critical", "source:workflow_run", "status:open"]


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Any real HTTP transport or socket connection fails the test (and is recorded)."""
    attempts: list[str] = []

    async def refuse_http(self: object, request: httpx.Request) -> httpx.Response:
        attempts.append(str(request.url))
        raise AssertionError(f"real HTTP request attempted: {request.url}")

    def refuse_connect(self: socket.socket, address: object) -> None:
        attempts.append(repr(address))
        raise AssertionError(f"socket connection attempted: {address!r}")

    monkeypatch.setattr(httpx.AsyncHTTPTransport, "handle_async_request", refuse_http)
    monkeypatch.setattr(httpx.HTTPTransport, "handle_request", refuse_http)
    monkeypatch.setattr(socket.socket, "connect", refuse_connect)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse_connect)
    return attempts


def write_payload(tmp_path: Path, payload: dict[str, Any], name: str = "payload.json") -> str:
    path = tmp_path / name
    path.write_text(json.dumps(payload), encoding="utf-8")
    return str(path)


def run_json(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict[str, Any]]:
    code = main(["simulate", *args, "--now", NOW, "--format", "json"])
    return code, json.loads(capsys.readouterr().out)


def test_prints_the_incident_issue_without_any_network(
    tmp_path: Path, no_network: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    payload = write_payload(tmp_path, failing_secret_scan())
    assert main(["simulate", "workflow_run", payload, "--now", NOW]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines[0] == f"Dry run of workflow_run (completed) for {REPO} at 2026-11-27 09:02 UTC."
    assert "Configuration: the built-in runbook (no repository config given)." in lines
    assert ("  - workflow_run: Workflow Secret scan failed on master -> rule secret_scan, "
            "severity critical") in lines
    assert f"Issue #1 in {REPO} (open)" in lines
    assert f"  Title:     {TITLE}" in lines
    assert f"  Labels:    {', '.join(LABELS)}" in lines
    assert "    | Acknowledge | 15 minutes | 2026-11-27 09:15 UTC | pending (13m left) |" in lines
    assert no_network == []


def test_json_report_lists_requests_and_the_resulting_issue(
    tmp_path: Path, no_network: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    code, report = run_json(capsys, "workflow_run", write_payload(tmp_path, failing_secret_scan()))
    assert code == 0 and report["error"] is None
    assert report["repo"] == REPO and report["now"] == "2026-11-27T09:02:00+00:00"
    assert report["signals"] == [{"kind": "detection", "source": "workflow_run",
                                  "title": "Workflow Secret scan failed on master",
                                  "rule": "secret_scan", "severity": "critical"}]
    # The config was read as the app reads it: the repository's file, then the org's.
    reads = [c["path"] for c in report["calls"] if c["method"] == "GET"]
    assert reads[:2] == [f"/repos/{REPO}/contents/.github/watchkeeper.yml",
                         "/repos/octo-org/.github/contents/.github/watchkeeper.yml"]
    creates = [c for c in report["calls"]
               if c["method"] == "POST" and c["path"] == f"/repos/{REPO}/issues"]
    assert len(creates) == 1 and creates[0]["body"]["title"] == TITLE
    [issue] = [i for i in report["issues"] if i["kind"] == "issue"]
    assert issue["title"] == TITLE and issue["number"] == 1 and issue["state"] == "open"
    assert sorted(issue["labels"]) == LABELS
    assert "<!-- watchkeeper:incident INC-2026-0001 -->" in issue["body"]
    assert set(LABELS) <= set(report["labels_created"])
    assert no_network == []


async def test_the_dry_run_opens_the_same_issue_as_the_server(tmp_path: Path) -> None:
    """Same payload, same time: simulate's issue equals the one the served app opens."""
    now = datetime(2026, 11, 27, 9, 2, tzinfo=UTC)
    sim = await simulate("workflow_run", failing_secret_scan(), now=now)
    async with harness(tmp_path, now=now) as h:
        await h.deliver("workflow_run", failing_secret_scan())
        await h.drain()
        served = h.fake.issues(REPO)
    [simulated] = [i for i in sim.issues if i.kind == "issue"]
    assert len(served) == 1
    assert (simulated.title, simulated.body, list(simulated.labels)) == (
        served[0].title, served[0].body, served[0].labels)


def test_config_file_is_used_as_the_repository_config(
    tmp_path: Path, no_network: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    code, report = run_json(capsys, "workflow_run", write_payload(tmp_path, failing_secret_scan()),
                            "--config", str(FIXTURES / "config" / "basic.yml"))
    assert code == 0 and report["config_problems"] == []
    # basic.yml keeps incidents in a separate private repository.
    [issue] = [i for i in report["issues"] if i["kind"] == "issue"]
    assert issue["repo"] == "octo-org/security-incidents"
    assert "default: @octocat" in issue["body"]


def test_repo_file_seeds_any_path(tmp_path: Path, no_network: list[str],
                                  capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "wk.yml"
    config.write_text("rules:\n  secret_scan:\n    enabled: false\n", encoding="utf-8")
    code, report = run_json(capsys, "workflow_run", write_payload(tmp_path, failing_secret_scan()),
                            "--repo-file", f".github/watchkeeper.yml={config}")
    assert code == 0
    assert report["signals"][0]["rule"] is None
    assert report["issues"] == [] and report["writes"] == 0


def test_config_problems_are_shown_and_the_defaults_apply(
    tmp_path: Path, no_network: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    payload = write_payload(tmp_path, failing_secret_scan())
    assert main(["simulate", "workflow_run", payload, "--now", NOW,
                 "--config", str(FIXTURES / "config" / "invalid.yml")]) == 0
    out = capsys.readouterr().out
    assert "  8 problem(s); the affected sections fall back:" in out
    assert (f"  - {REPO}:.github/watchkeeper.yml:9: rules.codeql.severity: invalid value 'hgih'"
            in out)
    assert f"  Title:     {TITLE}" in out  # the built-in rules still opened the incident


def test_payload_without_installation_is_simulated_as_installed(
    tmp_path: Path, no_network: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    payload = load_payload("secret_scanning_alert", "reopened.payload")
    assert "installation" not in payload
    code, report = run_json(capsys, "secret_scanning_alert", write_payload(tmp_path, payload))
    assert code == 0 and report["installation_added"] is True
    [issue] = [i for i in report["issues"] if i["kind"] == "issue"]
    assert issue["repo"] == "Codertocat/Hello-World"
    assert "severity:critical" in issue["labels"]


def test_an_event_without_signals_changes_nothing(
    tmp_path: Path, no_network: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    payload = write_payload(tmp_path, load_payload("dependabot_alert", "created.payload"))
    assert main(["simulate", "dependabot_alert", payload, "--now", NOW]) == 0
    out = capsys.readouterr().out
    assert "-> no rule opens an incident for it" in out  # a medium advisory: not critical
    assert "GitHub: no change would be made" in out


def test_a_payload_the_parser_cannot_read_fails_with_status_1(
    tmp_path: Path, no_network: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    broken = failing_secret_scan()
    del broken["workflow_run"]
    code, report = run_json(capsys, "workflow_run", write_payload(tmp_path, broken))
    assert code == 1
    assert report["error"].startswith("PermanentError: malformed workflow_run payload")


@pytest.mark.parametrize(("args", "message"), [
    (["workflow_run", "missing.json"], "missing.json: cannot read (FileNotFoundError)"),
    (["workflow_run", "{bad}"], "not JSON"),
    (["Workflow Run", "{good}"], "not an event name: 'Workflow Run'"),
    (["workflow_run", "{good}", "--repo-file", "no-equals-sign"], "expected PATH=FILE"),
    (["workflow_run", "{good}", "--config", "absent.yml"], "absent.yml: cannot read"),
    (["workflow_run", "{good}", "--now", "yesterday"], "expected an ISO 8601 time"),
    (["workflow_run", "{norepo}"], "the payload names no repository"),
])
def test_bad_inputs_exit_2_with_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
    args: list[str], message: str,
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "bad.json").write_text("{nope", encoding="utf-8")
    (tmp_path / "good.json").write_text(json.dumps(failing_secret_scan()), encoding="utf-8")
    (tmp_path / "norepo.json").write_text('{"action": "completed"}', encoding="utf-8")
    args = [a.replace("{bad}", "bad.json").replace("{good}", "good.json")
            .replace("{norepo}", "norepo.json") for a in args]
    assert main(["simulate", *args]) == 2
    err = capsys.readouterr().err
    assert err.startswith("watchkeeper simulate: ") and message in err
    assert err.count("\n") == 1


async def test_the_network_guard_would_catch_a_real_request(no_network: list[str]) -> None:
    async with httpx.AsyncClient() as client:
        with pytest.raises(AssertionError, match="real HTTP request attempted"):
            await client.get("https://api.github.com/app")
    assert no_network == ["https://api.github.com/app"]
