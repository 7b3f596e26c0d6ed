"""Missed webhooks heal themselves: the reconcile pass compares open alerts and the newest
security runs with the incidents, opens what is missing, records alerts fixed in the
meantime, duplicates nothing, stays within rate limits and resumes where it stopped."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from tests.support import INSTALLATION, REPO, failing_secret_scan, harness, load_payload

from watchkeeper.maintenance.reconcile import pass_id_at, reconcile
from watchkeeper.settings import Settings
from watchkeeper.wiring import build_runtime

SECRET_VALUE = "ghp_R3conc1leSecretValueThatMustNeverLeak0001"
ISSUES = rf"/repos/{REPO}/issues"


def code_scanning_alert(number: int = 10, level: str = "high") -> dict[str, Any]:
    """octokit's code_scanning_alert/created alert as REST lists it; adjusted: our repository,
    a security severity level (REST carries it) and the REST fields the example lacks."""
    alert = copy.deepcopy(load_payload("code_scanning_alert", "created.payload")["alert"])
    alert["rule"]["security_severity_level"] = level
    alert.update(number=number, updated_at="2026-11-27T08:00:00Z",
                 html_url=f"https://github.com/{REPO}/security/code-scanning/{number}",
                 most_recent_instance=alert["instances"][0])
    return alert


def dependabot_alert(number: int = 20) -> dict[str, Any]:
    """octokit's dependabot_alert/created alert; adjusted: a critical advisory in our repo."""
    alert = copy.deepcopy(load_payload("dependabot_alert", "created.payload")["alert"])
    alert["security_advisory"]["severity"] = "critical"
    alert.update(number=number, html_url=f"https://github.com/{REPO}/security/dependabot/{number}")
    return alert


def secret_alert(number: int = 191) -> dict[str, Any]:
    """octokit's secret_scanning_alert example, with the REST fields the example lacks —
    including the `secret` itself, which REST sends unless hide_secret=true."""
    alert = copy.deepcopy(load_payload("secret_scanning_alert", "reopened.payload")["alert"])
    alert.update(number=number, state="open", created_at="2026-11-27T08:30:00Z",
                 updated_at="2026-11-27T08:30:00Z", secret_type_display_name="Adafruit IO Key",
                 html_url=f"https://github.com/{REPO}/security/secret-scanning/{number}",
                 secret=SECRET_VALUE)
    return alert


def failing_run(run_id: int = 289782451, **extra: Any) -> dict[str, Any]:
    """The run as REST lists it: `name` holds the workflow's name (empty in the example)."""
    run = failing_secret_scan(run_id=run_id)["workflow_run"]
    run.update(status="completed", name="Secret scan", **extra)
    return run


def all_text(h: Any) -> str:
    return json.dumps([(r.path, r.query, r.json) for r in h.fake.requests])


async def test_missed_alerts_and_runs_open_their_incidents_once(tmp_path: Path) -> None:
    async with harness(tmp_path) as h:
        h.fake.add_alert(REPO, "code-scanning", code_scanning_alert())
        h.fake.add_alert(REPO, "code-scanning", code_scanning_alert(11, level="low"))  # no rule
        h.fake.add_alert(REPO, "dependabot", dependabot_alert())
        h.fake.add_alert(REPO, "secret-scanning", secret_alert())
        h.fake.add_workflow_run(REPO, failing_run())
        report = await reconcile(h.runtime, "p1", pause=0)
        assert report.complete and report.repositories == 1 and report.failed == []
        issues = h.fake.issues(REPO)
        titles = sorted(i.title.replace("\u200d", "") for i in issues)
        assert [t.split(":")[0] for t in titles] == [
            "[INC-2026-0001] high", "[INC-2026-0002] critical", "[INC-2026-0003] high",
            "[INC-2026-0004] critical"]
        assert [t.split(": ", 1)[1].split(":")[0] for t in titles] == [
            "Code scanning alert #10", "Secret scanning alert #191", "Dependabot alert #20",
            "Workflow Secret scan failed on master"]
        assert len(report.opened) == 4
        # The secret itself was never asked for, so never shown, logged or stored.
        assert all(r.query.get("hide_secret") == "true" for r in h.fake.requests
                   if "secret-scanning" in r.path)
        assert SECRET_VALUE not in all_text(h)
        stored = json.dumps([repr(i) for i in await h.runtime.store.list_incidents()])
        assert SECRET_VALUE not in stored

        # The same pass again: already complete, not a single call.
        mark = len(h.fake.requests)
        again = await reconcile(h.runtime, "p1", pause=0)
        assert again.complete and h.fake.requests[mark:] == []
        # The next pass: everything is tracked, nothing is written.
        later = await reconcile(h.runtime, "p2", pause=0)
        assert later.opened == [] and later.changed == []
        assert [r for r in h.fake.requests[mark:] if r.method != "GET"] == []

        # The webhooks arrive after all (delayed): they join, nothing opens twice.
        payload = failing_secret_scan()
        await h.deliver("workflow_run", payload)
        created = load_payload("code_scanning_alert", "created.payload")
        created.update(alert=code_scanning_alert(), repository=payload["repository"],
                       installation={"id": INSTALLATION})
        await h.deliver("code_scanning_alert", created)
        await h.drain()
        assert len(h.fake.issues(REPO)) == 4


async def test_an_alert_fixed_while_no_webhook_came_is_recorded_once(tmp_path: Path) -> None:
    async with harness(tmp_path) as h:
        alert = h.fake.add_alert(REPO, "code-scanning", code_scanning_alert())
        await reconcile(h.runtime, "p1", pause=0)
        [issue] = h.fake.issues(REPO)
        alert.update(state="fixed", fixed_at="2026-11-27T10:00:00Z",
                     updated_at="2026-11-27T10:00:00Z")
        report = await reconcile(h.runtime, "p2", pause=0)
        assert report.changed == ["INC-2026-0001"]
        [incident] = await h.runtime.store.list_incidents()
        assert [e.kind for e in incident.timeline][-1] == "recovered"
        assert incident.status == "open"  # people close incidents, not Watchkeeper
        comments = h.fake.issue(REPO, issue.number).comments
        assert len(comments) == 1 and "fixed" in comments[0].body.lower()
        # Again: recorded already.
        mark = len(h.fake.requests)
        assert (await reconcile(h.runtime, "p3", pause=0)).changed == []
        assert [r for r in h.fake.requests[mark:] if r.method != "GET"] == []


async def test_a_newer_failing_run_is_a_missed_repeat_and_a_success_a_recovery(
        tmp_path: Path) -> None:
    async with harness(tmp_path) as h:
        await h.deliver("workflow_run", failing_secret_scan())
        await h.drain()
        h.fake.add_workflow_run(REPO, failing_run())
        h.fake.add_workflow_run(REPO, failing_run(289782999, updated_at="2026-11-27T09:30:00Z"))
        await reconcile(h.runtime, "p1", pause=0)
        [incident] = await h.runtime.store.list_incidents()
        assert incident.occurrences.count == 2  # only the newest run, the missed one
        h.fake.add_workflow_run(REPO, failing_run(289783000, conclusion="success",
                                                  updated_at="2026-11-27T10:00:00Z"))
        await reconcile(h.runtime, "p2", pause=0)
        [incident] = await h.runtime.store.list_incidents()
        assert incident.occurrences.count == 2
        assert [e.kind for e in incident.timeline][-1] == "recovered"
        await reconcile(h.runtime, "p3", pause=0)
        assert (await h.runtime.store.list_incidents())[0].version == incident.version


async def test_incidents_people_closed_are_not_reopened(tmp_path: Path) -> None:
    async with harness(tmp_path) as h:
        alert = code_scanning_alert()
        h.fake.add_alert(REPO, "code-scanning", alert)
        await reconcile(h.runtime, "p1", pause=0)
        events = h.capture()
        h.fake.person_close_issue(REPO, 1, login="octocat", reason="not_planned")
        await h.deliver_all(events)
        [incident] = await h.runtime.store.list_incidents(open_only=False)
        assert incident.status == "closed"
        mark = len(h.fake.requests)
        report = await reconcile(h.runtime, "p2", pause=0)
        assert report.opened == [] and report.signals == 0
        assert [r for r in h.fake.requests[mark:] if r.method != "GET"] == []
        assert len(h.fake.issues(REPO)) == 1


async def test_an_interrupted_pass_resumes_where_it_stopped(tmp_path: Path) -> None:
    async with harness(tmp_path) as h:
        for n in range(3):
            h.fake.add_repo(f"octo-org/svc-{n}", installation_id=INSTALLATION)
        repos = [REPO, *(f"octo-org/svc-{n}" for n in range(3))]
        renewals = 0

        async def keep_alive() -> bool:  # the lease is lost before the third repository
            nonlocal renewals
            renewals += 1
            return renewals <= 2

        first = await reconcile(h.runtime, "p1", keep_alive=keep_alive, pause=0)
        assert not first.complete and first.repositories == 2
        listed = {r.path.split("/")[3] for r in h.fake.calls("GET", r"/repos/.+/actions/runs")}
        assert len(listed) == 2
        mark = len(h.fake.requests)
        second = await reconcile(h.runtime, "p1", pause=0)
        assert second.complete and second.resumed == 2 and second.repositories == 2
        again = {r.path.split("/")[3] for r in h.fake.calls("GET", r"/repos/.+/actions/runs")
                 if h.fake.requests.index(r) >= mark}
        assert again == {name.split("/")[1] for name in repos} - listed


async def test_a_failing_repository_is_retried_by_the_next_pass_only(tmp_path: Path) -> None:
    async with harness(tmp_path) as h:
        h.fake.add_repo("octo-org/svc-0", installation_id=INSTALLATION)
        h.fake.fail_next("GET", r"/repos/octo-org/svc-0/actions/runs", 502)
        report = await reconcile(h.runtime, "p1", pause=0)
        assert report.failed == ["octo-org/svc-0"] and not report.complete
        report = await reconcile(h.runtime, "p1", pause=0)
        assert report.failed == [] and report.complete and report.resumed == 1


async def test_reads_are_paced_and_a_low_rate_limit_defers_the_installation(
        tmp_path: Path) -> None:
    async with harness(tmp_path) as h:
        for n in range(3):
            h.fake.add_repo(f"octo-org/svc-{n}", installation_id=INSTALLATION)
        pauses: list[float] = []

        async def sleep(seconds: float) -> None:
            pauses.append(seconds)

        report = await reconcile(h.runtime, "p1", pause=0.5, sleep=sleep)
        assert report.complete and pauses == [0.5, 0.5, 0.5]  # between the four repositories
        h.fake._rate[INSTALLATION] = 100  # GitHub reports 99 calls left from now on
        mark = len(h.fake.requests)
        report = await reconcile(h.runtime, "p2", pause=0)
        assert report.deferred == [INSTALLATION] and not report.complete
        assert [r.path for r in h.fake.requests[mark:]] == [
            "/app/installations", "/installation/repositories"]


async def test_repositories_without_the_features_are_fine(tmp_path: Path) -> None:
    """Code scanning off (404), Dependabot alerts off (403), secret scanning off (404)."""
    async with harness(tmp_path) as h:
        report = await reconcile(h.runtime, "p1", pause=0)
        assert report.complete and report.failed == [] and report.signals == 0


def test_the_scheduled_pass_runs_under_a_lease_once_per_interval(tmp_path: Path) -> None:
    from datetime import UTC, datetime

    from watchkeeper.github.fake import FakeGitHub

    fake = FakeGitHub(app_id=4242)
    base = {"APP_ID": "4242", "PRIVATE_KEY": fake.private_key, "WEBHOOK_SECRET": "s",
            "DATABASE_URL": f"sqlite:///{tmp_path / 'wk.db'}"}
    runtime = build_runtime(Settings.from_env(base), transport=fake)
    jobs = len(runtime.jobs)
    off = build_runtime(Settings.from_env({**base, "RECONCILE_INTERVAL": "0"}), transport=fake)
    assert len(off.jobs) == jobs - 1
    at = datetime(2026, 11, 27, 9, 59, tzinfo=UTC)
    assert pass_id_at(at, 3600) == pass_id_at(at.replace(minute=0), 3600)
    assert pass_id_at(at, 3600) != pass_id_at(at.replace(hour=10), 3600)


def test_the_command_runs_one_pass_and_says_what_it_did(
        tmp_path: Path, monkeypatch: Any, capsys: Any) -> None:
    from benchmarks.storm_common import FakeServer, free_port, make_fake, serve_env

    from watchkeeper.cli import main

    port = free_port()
    fake = make_fake(port, [REPO])
    fake.add_alert(REPO, "secret-scanning", secret_alert())
    with FakeServer(fake, port):
        env = serve_env(fake, database_url=f"sqlite:///{tmp_path / 'wk.db'}", secret="s")
        for key, value in env.items():
            monkeypatch.setenv(key, value)
        assert main(["reconcile"]) == 0
        assert main(["reconcile"]) == 0  # a fresh pass: nothing new
    out = capsys.readouterr().out.splitlines()
    assert out == ["1 installation(s), 1 repositories: 1 signal(s) handled",
                   "  opened INC-2026-0001 (its webhook never came)",
                   "1 installation(s), 1 repositories: 0 signal(s) handled"]
    assert len(fake.issues(REPO)) == 1
    assert SECRET_VALUE not in json.dumps([(r.path, r.query, r.json) for r in fake.requests])


async def test_a_pass_held_elsewhere_does_nothing(tmp_path: Path) -> None:
    import io

    from watchkeeper.maintenance.reconcile import LEASE
    from watchkeeper.subcommands.reconcile import reconcile_once

    async with harness(tmp_path) as h:
        assert await h.runtime.store.try_lease(LEASE, "a server", h.clock.now(), 600)
        out = io.StringIO()
        assert await reconcile_once(h.runtime, out) == 0
        assert "holds the lease" in out.getvalue() and h.fake.requests == []
