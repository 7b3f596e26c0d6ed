"""End to end: responders working an incident issue on the (fake) GitHub — ticks, labels,
commands, permissions — and Watchkeeper's own echoes causing nothing further."""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

import pytest
from tests.support import REPO, Harness, failing_secret_scan, harness, load_payload

from watchkeeper.render.checklist import parse_ticks
from watchkeeper.render.markers import extract

ISSUE = rf"/repos/{REPO}/issues/1"


def mutations(h: Harness, since: int = 0) -> list[tuple[str, str]]:
    return [(r.method, r.path) for r in h.fake.requests[since:]
            if r.method != "GET" and not r.path.startswith("/app/")]


async def open_incident(h: Harness) -> int:
    await h.deliver("workflow_run", failing_secret_scan())
    await h.drain()
    (issue,) = h.fake.issues(REPO)
    h.fake.set_permission(REPO, "alice", "write")
    h.fake.set_permission(REPO, "bob", "maintain")
    h.fake.set_permission(REPO, "tracy", "triage")
    return issue.number


def tick(body: str, *keys: str) -> str:
    for key in keys:
        body = re.sub(rf"- \[ \](.*<!-- wk:{key} -->)", r"- [x]\1", body)
    return body


async def stored(h: Harness, number: int = 1) -> Any:
    incident = await h.runtime.store.incident_for_issue(REPO, number)
    assert incident is not None
    return incident


async def echoes_change_nothing(h: Harness, events: list[tuple[str, dict[str, Any]]]) -> None:
    """Deliver what GitHub would send back for the app's own writes: no further change."""
    assert events and all(p["sender"]["login"] == "watchkeeper[bot]" for _, p in events)
    record = await stored(h)
    before = len(h.fake.requests)
    await h.deliver_all(events)
    assert h.fake.requests[before:] == []
    assert (await stored(h)).version == record.version


async def test_ticks_by_a_person_are_recorded_with_milestone_and_status_label(
        tmp_path: Path) -> None:
    async with harness(tmp_path) as h:
        number = await open_incident(h)
        events = h.capture()
        h.clock.advance(8 * 60)  # 09:10
        issue = h.fake.issue(REPO, number)
        h.fake.person_edit_issue_body(REPO, number, tick(issue.body or "", "assign_ic"),
                                      login="alice")
        (event,) = events
        assert event[0] == "issues" and event[1]["action"] == "edited"
        assert event[1]["changes"]["body"]["from"] != event[1]["issue"]["body"]
        mark = len(h.fake.requests)
        await h.deliver_all(events)
        assert mutations(h, mark) == [
            ("POST", f"/repos/{REPO}/labels"),  # the status:acknowledged label, with colour
            ("DELETE", f"{ISSUE}/labels/status:open"),
            ("POST", f"{ISSUE}/labels"),
            ("PATCH", ISSUE),
        ]
        body = h.fake.issue(REPO, number).body or ""
        timeline = extract(body, "timeline") or ""
        assert "| 2026-11-27 09:10 | alice | Ticked: Open incident channel and assign IC. |" in (
            timeline)
        assert "Acknowledged (checklist items ticked); SLA met after 10m" in timeline
        assert "| Acknowledge | 15 minutes | 2026-11-27 09:15 UTC | met (after 10m) |" in (
            extract(body, "sla") or "")
        assert parse_ticks(extract(body, "checklist"))["assign_ic"] is True
        assert "status:acknowledged" in h.fake.issue(REPO, number).labels
        assert "status:open" not in h.fake.issue(REPO, number).labels
        incident = await stored(h, number)
        assert incident.status == "acknowledged"
        assert incident.checklist_done == ("assign_ic",)
        await echoes_change_nothing(h, events)


async def test_a_severity_label_change_by_a_writer(tmp_path: Path) -> None:
    async with harness(tmp_path) as h:
        number = await open_incident(h)
        events = h.capture()
        h.clock.advance(60 * 60)  # 10:02: the new acknowledge deadline (10:00) has passed
        h.fake.person_add_label(REPO, number, "severity:high", login="alice")
        await h.deliver_all(events)
        issue = h.fake.issue(REPO, number)
        assert sorted(issue.labels) == ["incident", "severity:high", "source:workflow_run",
                                        "status:open"]
        assert issue.title == "[INC-2026-0001] high: Workflow Secret scan failed on master"
        (note,) = [c.body for c in issue.comments]
        assert "**Severity changed** from **critical** to **high** by alice" in note
        assert "acknowledge was due 2026-11-27 10:00 UTC (2m ago)" in note
        assert "Incident INC-2026-0001 | Severity: high | Impact: not stated" in note
        assert "| Acknowledge | 1 hour | 2026-11-27 10:00 UTC | **overdue** (by 2m) |" in (
            extract(issue.body, "sla") or "")
        assert (await stored(h, number)).severity == "high"
        await echoes_change_nothing(h, events)


async def test_a_severity_label_from_someone_without_write_is_reverted(tmp_path: Path) -> None:
    async with harness(tmp_path) as h:
        number = await open_incident(h)
        events = h.capture()
        h.fake.person_add_label(REPO, number, "severity:low", login="tracy")
        mark = len(h.fake.requests)
        await h.deliver_all(events)
        assert mutations(h, mark) == [("DELETE", f"{ISSUE}/labels/severity:low"),
                                      ("POST", f"{ISSUE}/comments")]
        issue = h.fake.issue(REPO, number)
        assert "severity:low" not in issue.labels and "severity:critical" in issue.labels
        assert issue.comments[-1].body.startswith("@tracy only people with write, maintain or "
                                                  "admin permission")
        assert (await stored(h, number)).severity == "critical"
        await echoes_change_nothing(h, events)


async def test_removing_the_severity_label_restores_it(tmp_path: Path) -> None:
    async with harness(tmp_path) as h:
        number = await open_incident(h)
        events = h.capture()
        h.fake.person_remove_label(REPO, number, "severity:critical", login="alice")
        await h.deliver_all(events)
        issue = h.fake.issue(REPO, number)
        assert "severity:critical" in issue.labels
        assert "was restored after alice removed it" in issue.comments[-1].body
        await echoes_change_nothing(h, events)


COMMANDS = [
    ("/ack", "milestone"),
    ("/contained", "milestone"),
    ("/fixed", "milestone"),
    ("/severity medium", "severity"),
    ("/ic @bob", "role"),
    ("/mitigation @alice", "role"),
    ("/comms @octo-org/pm", "role"),
    ("/security @bob", "role"),
    ('/status impact="none yet" mitigation="key revoked" next="11:00 UTC"', "status_update"),
    ('/customer-update scope="EU tenants" status="contained" next="12:00 UTC"',
     "customer_update"),
    ("/decision rotate every deploy key", "decision"),
    ("/rootcause a token committed in a test fixture", "rootcause"),
    ("/help", None),
]


@pytest.mark.parametrize(("command", "kind"), COMMANDS, ids=[c.split()[0] for c, _ in COMMANDS])
async def test_each_command_by_a_writer(tmp_path: Path, command: str, kind: str | None) -> None:
    async with harness(tmp_path) as h:
        number = await open_incident(h)
        events = h.capture()
        h.clock.advance(10 * 60)
        h.fake.person_comment(REPO, number, f"On it.\n{command}", login="bob")
        await h.deliver_all(events)
        incident = await stored(h, number)
        if kind is None:
            assert [e for e in incident.timeline if e.actor == "bob"] == []
            assert "**Watchkeeper commands**" in h.fake.issue(REPO, number).comments[-1].body
        else:
            entry = next(e for e in incident.timeline if e.kind == kind)
            assert (entry.actor, entry.at.isoformat()) == ("bob", "2026-11-27T09:12:00+00:00")
            assert entry.url and "#issuecomment-" in entry.url
            timeline = extract(h.fake.issue(REPO, number).body, "timeline") or ""
            assert "| 2026-11-27 09:12 | bob |" in timeline
        if events:
            await echoes_change_nothing(h, events)


@pytest.mark.parametrize("command", [c for c, _ in COMMANDS], ids=[c.split()[0]
                                                                   for c, _ in COMMANDS])
async def test_each_command_by_someone_without_write_is_refused(tmp_path: Path,
                                                                  command: str) -> None:
    async with harness(tmp_path) as h:
        number = await open_incident(h)
        before = await stored(h, number)
        body = h.fake.issue(REPO, number).body
        events = h.capture()
        h.fake.person_comment(REPO, number, command, login="tracy")
        mark = len(h.fake.requests)
        await h.deliver_all(events)
        assert mutations(h, mark) == [("POST", f"{ISSUE}/comments")]
        assert h.fake.issue(REPO, number).comments[-1].body.startswith(
            "@tracy only people with write, maintain or admin permission on this repository "
            "can run Watchkeeper commands; nothing was changed.\n\n<!-- watchkeeper:comment ")
        after = await stored(h, number)
        assert after.replace(done_keys=(), version=0) == before.replace(done_keys=(),
                                                                         version=0)
        assert h.fake.issue(REPO, number).body == body
        await echoes_change_nothing(h, events)


async def test_unknown_commands_get_the_usage(tmp_path: Path) -> None:
    async with harness(tmp_path) as h:
        number = await open_incident(h)
        before = await stored(h, number)
        events = h.capture()
        h.fake.person_comment(REPO, number, "/severity urgent\n/page everyone", login="alice")
        await h.deliver_all(events)
        reply = h.fake.issue(REPO, number).comments[-1].body
        assert "`/severity urgent`: unknown severity 'urgent'. Usage: " in reply
        assert "Unknown command `/page`" in reply
        after = await stored(h, number)
        assert (after.timeline, after.severity) == (before.timeline, "critical")


async def test_a_command_edited_into_an_old_comment_runs_once(tmp_path: Path) -> None:
    async with harness(tmp_path) as h:
        number = await open_incident(h)
        events = h.capture()
        comment_id = h.fake.person_comment(REPO, number, "/ack", login="alice")
        await h.deliver_all(events)
        events.clear()
        h.fake.person_edit_comment(REPO, number, comment_id, "/ack\n/decision freeze deploys")
        (edited,) = events
        assert edited[1]["action"] == "edited"
        await h.deliver_all(events)
        incident = await stored(h, number)
        assert [e.kind for e in incident.timeline if e.actor == "alice"] == [
            "milestone", "decision"]
        # The same edit again (a replayed delivery): nothing at all.
        mark = len(h.fake.requests)
        await h.deliver("issue_comment", edited[1])
        await h.drain()
        assert h.fake.requests[mark:] == []


async def test_a_replayed_comment_delivery_runs_nothing_twice(tmp_path: Path) -> None:
    async with harness(tmp_path) as h:
        number = await open_incident(h)
        events = h.capture()
        h.fake.person_comment(REPO, number, '/status impact="x" mitigation="y" next="z"',
                              login="alice")
        original = copy.deepcopy(events[0])
        await h.deliver_all(events)
        posted = len(h.fake.issue(REPO, number).comments)
        mark = len(h.fake.requests)
        await h.deliver(*original, delivery_id="replayed-1")
        await h.drain()
        assert h.fake.requests[mark:] == []
        assert len(h.fake.issue(REPO, number).comments) == posted


async def test_a_persons_text_and_a_racing_edit_survive_updates(tmp_path: Path) -> None:
    async with harness(tmp_path) as h:
        number = await open_incident(h)
        # Text written outside the sections, before Watchkeeper updates the issue.
        issue = h.fake.issue(REPO, number)
        h.fake.person_edit_issue_body(REPO, number,
                                      "Bridge: room 4\n\n" + (issue.body or ""), login="alice")
        events = h.capture()
        racing = "\n\nNote from alice: customer X confirmed the leak."
        raced: list[str] = []

        def race(name: str, payload: dict[str, Any]) -> None:
            events.append((name, copy.deepcopy(payload)))
            # Right after Watchkeeper's first body update, a person edits the issue too:
            # their text and tick land before Watchkeeper's next update.
            if (name, payload["action"], payload["sender"]["type"]) == (
                    "issues", "edited", "Bot") and not raced:
                raced.append(payload["issue"]["body"])
                current = h.fake.issue(REPO, number).body or ""
                h.fake.person_edit_issue_body(REPO, number,
                                              tick(current, "record_start") + racing,
                                              login="alice")

        h.fake.on_event = race
        h.fake.person_comment(REPO, number, "/ack", login="alice")
        h.fake.person_comment(REPO, number, "/decision keep the bridge open", login="bob")
        await h.deliver_all(events)
        body = h.fake.issue(REPO, number).body or ""
        assert body.startswith("Bridge: room 4\n\n")
        assert racing in body
        assert parse_ticks(extract(body, "checklist"))["record_start"] is True
        timeline = extract(body, "timeline") or ""
        assert "Decision: keep the bridge open" in timeline
        # The race happened: the person's edit came between Watchkeeper's two updates.
        assert len(raced) == 1 and racing not in raced[0]
        assert len(h.fake.calls("PATCH", ISSUE)) == 2
        # The person's racing edit, delivered now, records their tick.
        person_edits = [(n, p) for n, p in events if p["sender"]["type"] == "User"]
        events[:] = person_edits
        await h.deliver_all(events)
        assert (await stored(h, number)).checklist_done == ("record_start",)
        body = h.fake.issue(REPO, number).body or ""
        assert body.startswith("Bridge: room 4\n\n") and "customer X confirmed" in body


async def test_fixture_payload_for_an_unknown_issue_is_ignored(tmp_path: Path) -> None:
    async with harness(tmp_path) as h:
        await open_incident(h)
        mark = len(h.fake.requests)
        # octokit's example comment, moved onto this repository's (non-incident) issue 99.
        payload = load_payload("issue_comment", "created.payload")
        payload["repository"]["full_name"] = REPO
        payload["repository"]["name"], payload["repository"]["owner"]["login"] = (
            REPO.split("/")[1], REPO.split("/")[0])
        payload["issue"]["number"] = 99
        payload["comment"]["body"] = "/ack"
        await h.deliver("issue_comment", payload)
        await h.drain()
        assert h.fake.requests[mark:] == []


def on_incident(payload: dict[str, Any], number: int) -> dict[str, Any]:
    """An octokit example payload moved onto the incident issue. Adjusted: repository,
    issue number and the installation (GitHub adds it to every delivery to an App)."""
    payload = copy.deepcopy(payload)
    owner, name = REPO.split("/")
    payload["repository"].update(full_name=REPO, name=name)
    payload["repository"]["owner"]["login"] = owner
    payload["issue"]["number"] = number
    payload["installation"] = {"id": 7, "node_id": "MDIzOkludGVncmF0aW9uSW5zdGFsbGF0aW9uNw=="}
    return payload


async def test_real_payload_shapes_label_and_comment(tmp_path: Path) -> None:
    async with harness(tmp_path) as h:
        number = await open_incident(h)
        h.fake.set_permission(REPO, "Codertocat", "admin")
        h.clock.advance(33 * 60)  # 09:35: the deliveries arrive a few minutes late
        labeled = on_incident(load_payload("issues", "labeled.payload"), number)
        # Adjusted: the example adds "bug"; here the severity label, at 09:30.
        labeled["label"]["name"] = "severity:high"
        labeled["issue"]["labels"] = [{"name": "severity:critical"}, {"name": "severity:high"}]
        labeled["issue"]["updated_at"] = "2026-11-27T09:30:00Z"
        await h.deliver("issues", labeled)
        comment = on_incident(load_payload("issue_comment", "created.payload"), number)
        # Adjusted: a command in the example's comment, at 09:31.
        comment["comment"]["body"] = "Agreed, lowering it.\n/decision treat as high: no prod"
        comment["comment"]["created_at"] = "2026-11-27T09:31:00Z"
        await h.deliver("issue_comment", comment)
        await h.drain()
        incident = await stored(h, number)
        assert incident.severity == "high"
        assert [(e.at.isoformat(), e.actor, e.kind, e.text) for e in incident.timeline[-2:]] == [
            ("2026-11-27T09:30:00+00:00", "Codertocat", "severity",
             "Severity changed from critical to high (label severity:high)"),
            ("2026-11-27T09:31:00+00:00", "Codertocat", "decision",
             "Decision: treat as high: no prod"),
        ]
        assert "severity:critical" not in h.fake.issue(REPO, number).labels
