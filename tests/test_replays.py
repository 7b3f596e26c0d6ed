"""Replays: GitHub's signature covers only the body, so a captured delivery can be sent again
under a new X-GitHub-Delivery. Every effect is keyed on the event's own identity (run id and
attempt, alert number and state change, comment id and edit, pull request number and head
SHA), so a replayed body does nothing a second time — source by source."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
from tests.evidence_support import deployment_status, pull_request, secret_alert
from tests.resilience import tick
from tests.support import INSTALLATION, REPO, Harness, failing_secret_scan, harness, load_payload

from watchkeeper.store.sqlite import SqliteStore

SHA = "48e8370a40a7be6aedd1c9d45c4cda79fd42d966"


def writes(h: Harness, since: int = 0) -> list[tuple[str, str]]:
    return [(r.method, r.path) for r in h.fake.requests[since:]
            if r.method != "GET" and not r.path.startswith("/app/")]


async def records(h: Harness) -> list[tuple[str, int]]:
    return [(i.id, i.version) for i in await h.runtime.store.list_incidents(open_only=False)]


async def replay_changes_nothing(h: Harness, event: str, payload: dict[str, Any]) -> None:
    """Deliver once (it must do something), then the same body under a new delivery ID."""
    mark, before = len(h.fake.requests), await records(h)
    assert (await h.deliver(event, payload)).status_code == 202
    await h.drain()
    assert writes(h, mark) or await records(h) != before, "the original did nothing"
    mark, before = len(h.fake.requests), await records(h)
    for _ in range(2):  # new delivery IDs each time
        assert (await h.deliver(event, copy.deepcopy(payload))).status_code == 202
    await h.drain()
    assert writes(h, mark) == []
    assert await records(h) == before


async def opened(h: Harness) -> None:
    await h.deliver("workflow_run", failing_secret_scan(), delivery_id="opening")
    await h.drain()
    for login, role in (("alice", "write"), ("tracy", "triage")):
        h.fake.set_permission(REPO, login, role)


def _with_repo(payload: dict[str, Any]) -> dict[str, Any]:
    payload["repository"].update(full_name=REPO, name=REPO.split("/")[1], private=True,
                                 default_branch="master")
    payload["repository"]["owner"]["login"] = REPO.split("/")[0]
    payload["installation"] = {"id": INSTALLATION}
    return payload


async def test_a_failing_run(tmp_path: Path) -> None:
    async with harness(tmp_path) as h:
        await replay_changes_nothing(h, "workflow_run", failing_secret_scan())


async def test_a_repeated_failing_run_and_a_passing_one(tmp_path: Path) -> None:
    async with harness(tmp_path) as h:
        await opened(h)
        h.clock.advance(3600)
        await replay_changes_nothing(h, "workflow_run", failing_secret_scan(
            run_id=289782999, updated_at="2026-11-27T10:00:00Z"))
        passed = failing_secret_scan(run_id=289783000, updated_at="2026-11-27T10:30:00Z")
        passed["workflow_run"]["conclusion"] = "success"
        await replay_changes_nothing(h, "workflow_run", passed)


async def test_a_rerun_attempt_is_new_and_its_replay_is_not(tmp_path: Path) -> None:
    async with harness(tmp_path) as h:
        await opened(h)
        await replay_changes_nothing(h, "workflow_run", failing_secret_scan(attempt=2))
        [incident] = await h.runtime.store.list_incidents()
        assert incident.occurrences.count == 2


async def test_code_scanning_alert_created_and_fixed(tmp_path: Path) -> None:
    async with harness(tmp_path) as h:
        created = _with_repo(load_payload("code_scanning_alert", "created.payload"))
        created["alert"]["rule"]["security_severity_level"] = "critical"
        await replay_changes_nothing(h, "code_scanning_alert", created)
        fixed = _with_repo(load_payload("code_scanning_alert", "fixed.payload"))
        fixed["alert"]["number"] = created["alert"]["number"]
        await replay_changes_nothing(h, "code_scanning_alert", fixed)


async def test_secret_scanning_alert_created_and_resolved(tmp_path: Path) -> None:
    async with harness(tmp_path) as h:
        await replay_changes_nothing(h, "secret_scanning_alert", secret_alert(
            "created", at="2026-11-27T09:00:00Z", state="open"))
        await replay_changes_nothing(h, "secret_scanning_alert", secret_alert(
            "resolved", at="2026-11-27T09:30:00Z", state="resolved", resolution="revoked",
            resolved_at="2026-11-27T09:30:00Z"))
        await replay_changes_nothing(h, "secret_scanning_alert", secret_alert(
            "validated", at="2026-11-27T09:40:00Z", state="resolved", validity="inactive"))


async def test_dependabot_alert_created_and_fixed(tmp_path: Path) -> None:
    async with harness(tmp_path) as h:
        created = _with_repo(load_payload("dependabot_alert", "created.payload"))
        created["alert"]["security_advisory"]["severity"] = "critical"
        await replay_changes_nothing(h, "dependabot_alert", created)
        fixed = _with_repo(load_payload("dependabot_alert", "fixed.payload"))
        fixed["alert"]["number"] = created["alert"]["number"]
        fixed["alert"]["security_advisory"] = created["alert"]["security_advisory"]
        # The examples are a year apart the wrong way round: the fix comes after the alert.
        fixed["alert"].update(fixed_at="2024-01-01T00:00:00Z", updated_at="2024-01-01T00:00:00Z")
        await replay_changes_nothing(h, "dependabot_alert", fixed)


async def test_a_failing_check_run(tmp_path: Path) -> None:
    async with harness(tmp_path) as h:
        payload = _with_repo(load_payload("check_run", "completed.payload"))
        payload["check_run"].update(name="CodeQL", conclusion="failure", head_sha=SHA)
        payload["check_run"]["check_suite"]["head_branch"] = "master"
        await replay_changes_nothing(h, "check_run", payload)


@pytest.mark.parametrize("command", ["/severity high", "/ic @alice", "/decision Rotate keys",
                                     '/status impact="none" mitigation="x" next="10:00"'])
async def test_a_command_runs_once(tmp_path: Path, command: str) -> None:
    async with harness(tmp_path) as h:
        await opened(h)
        events = h.capture()
        h.fake.person_comment(REPO, 1, command, login="alice")
        [(event, payload)] = events
        await replay_changes_nothing(h, event, payload)


async def test_an_edited_command_runs_once_per_edit(tmp_path: Path) -> None:
    async with harness(tmp_path) as h:
        await opened(h)
        events = h.capture()
        comment = h.fake.person_comment(REPO, 1, "/decision Rotate keys", login="alice")
        await h.deliver_all(events)
        events.clear()  # the app's own reply and edits
        h.fake.person_edit_comment(REPO, 1, comment, "/decision Rotate every key")
        [(event, payload)] = events
        await replay_changes_nothing(h, event, payload)


async def test_a_tick_and_a_label(tmp_path: Path) -> None:
    async with harness(tmp_path) as h:
        await opened(h)
        events = h.capture()
        h.fake.person_edit_issue_body(REPO, 1, tick(h.fake.issue(REPO, 1).body or "",
                                                    "assign_ic"), login="alice")
        [(event, payload)] = events
        await replay_changes_nothing(h, event, payload)
        events.clear()
        h.fake.person_add_label(REPO, 1, "severity:high", login="alice")
        [(event, payload)] = events
        await replay_changes_nothing(h, event, payload)


async def test_removing_the_breach_label(tmp_path: Path) -> None:
    from watchkeeper.features.slaclock import sweep

    async with harness(tmp_path) as h:
        await opened(h)
        h.clock.advance(20 * 60)  # past the 15-minute acknowledgement target
        await sweep(h.runtime)
        assert "sla:breached" in h.fake.issue(REPO, 1).labels
        events = h.capture()
        h.fake.person_remove_label(REPO, 1, "sla:breached", login="alice")
        [(event, payload)] = events
        await replay_changes_nothing(h, event, payload)


async def test_closing_and_reopening(tmp_path: Path) -> None:
    async with harness(tmp_path) as h:
        await opened(h)
        events = h.capture()
        h.clock.advance(3600)
        h.fake.person_close_issue(REPO, 1, login="alice")
        [(event, payload)] = events
        await replay_changes_nothing(h, event, payload)  # one postmortem, one comment
        events.clear()
        h.clock.advance(3600)
        h.fake.person_reopen_issue(REPO, 1, login="alice")
        [(event, payload)] = [e for e in events if e[1]["action"] == "reopened"]
        await replay_changes_nothing(h, event, payload)


async def test_a_pull_request_and_a_deployment(tmp_path: Path) -> None:
    async with harness(tmp_path) as h:
        await opened(h)
        await replay_changes_nothing(h, "pull_request", pull_request(
            "opened", number=12, title="Rotate the key", body="Fixes #1",
            head_ref="fix/key", head_sha=SHA, at="2026-11-27T09:30:00Z"))
        merge = "9d5f0c7a1e8b4c3d2f1a0b9c8d7e6f5a4b3c2d1e"
        await replay_changes_nothing(h, "pull_request", pull_request(
            "merged", number=12, title="Rotate the key", body="Fixes #1", head_ref="fix/key",
            head_sha=SHA, at="2026-11-27T10:00:00Z", merged=True, merge_sha=merge))
        await replay_changes_nothing(h, "deployment_status", deployment_status(
            deployment_id=4242, state="success", sha=merge, at="2026-11-27T10:30:00Z"))


async def test_an_alarm(tmp_path: Path) -> None:
    async with harness(tmp_path) as h:
        # A dispatch has no identity of its own: the sender gives one (alarms/dispatch.py).
        alarm = {"title": "Error rate above 5%", "severity": "critical", "status": "firing",
                 "service": "billing", "event_id": "errors-billing@2026-11-27T09:00:00Z"}
        payload = _with_repo(copy.deepcopy(load_payload("push", "with-installation.payload")))
        dispatch = {"action": "incident", "branch": "master", "client_payload": alarm,
                    "repository": payload["repository"], "installation": {"id": INSTALLATION},
                    "sender": payload["sender"]}
        await replay_changes_nothing(h, "repository_dispatch", dispatch)


# --- delivery IDs are kept long enough -----------------------------------------------


async def test_delivery_ids_outlive_githubs_redelivery_window(tmp_path: Path) -> None:
    """GitHub redelivers for 3 days (GitHub Enterprise Server: 7); the store keeps finished
    delivery IDs for 8 days by default, and `serve` prunes hourly."""
    async with harness(tmp_path) as h:
        store = h.runtime.store
        assert isinstance(store, SqliteStore)
        payload = failing_secret_scan()
        await h.deliver("workflow_run", payload, delivery_id="kept")
        await h.drain()
        h.clock.advance(7.9 * 86400)
        assert await store.prune(h.clock.now()) == 0
        response = await h.deliver("workflow_run", payload, delivery_id="kept")
        assert response.status_code == 200  # known: not processed again
        h.clock.advance(0.2 * 86400)
        assert await store.prune(h.clock.now()) >= 1
        assert await store.delivery_state("kept") is None
        assert h.client_app.state.worker.prune_every == 3600.0
