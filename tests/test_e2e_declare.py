"""End to end: people declaring incidents in issues, and reopening them, through the
server, the store and the worker against the fake GitHub."""

from __future__ import annotations

import copy
from datetime import timedelta
from pathlib import Path
from typing import Any

from tests.support import INSTALLATION, REPO, Harness, failing_secret_scan, harness, load_payload

from watchkeeper.github.fake.shapes import ts
from watchkeeper.render.markers import names, read_incident_id

ISSUES = rf"/repos/{REPO}/issues"
REPORT = ("We saw rows from another tenant in today's export.\r\n\r\n"
          "<!-- my own note -->\r\n@octo-org/data please check")
FORM = ("### What happened\n\nExport held rows of another tenant.\n\n"
        "### Suspected scope\n\nShard 3\n\n### Impact\n\nPossible data exposure\n\n"
        "### Severity\n\nhigh\n\n### Reporter contact\n\n_No response_")


def issue_event(h: Harness, action: str, number: int, *, sender: str,
                label: str | None = None) -> dict[str, Any]:
    """octokit's issues/<action> example, pointed at the fake's issue: repository,
    installation (GitHub adds it for Apps), the issue's fields and the sender adjusted."""
    name = "reopened.payload" if action == "reopened" else f"{action}.payload"
    payload = copy.deepcopy(load_payload("issues", name))
    issue = h.fake.issue(REPO, number)
    owner, repo_name = REPO.split("/")
    payload["repository"].update(name=repo_name, full_name=REPO)
    payload["repository"]["owner"]["login"] = owner
    payload["installation"] = {"id": INSTALLATION, "node_id": "IN_7"}
    payload["sender"].update(login=sender, type="User")
    payload["issue"].update(
        number=number, title=issue.title, body=issue.body, state=issue.state,
        labels=[{"name": n, "color": "ededed", "default": False} for n in issue.labels],
        created_at=ts(issue.created_at), updated_at=ts(issue.updated_at),
        html_url=f"https://github.com/{REPO}/issues/{number}",
    )
    payload["issue"]["user"]["login"] = issue.user.login
    if label is not None:
        payload["label"] = {"name": label, "color": "5319e7", "default": False}
    return payload


def mutations(h: Harness, since: int = 0) -> list[tuple[str, str]]:
    return [(r.method, r.path) for r in h.fake.requests[since:]
            if r.method != "GET" and not r.path.startswith("/app/")]


async def test_an_issue_opened_with_the_incident_label_is_adopted_keeping_the_report(
        tmp_path: Path) -> None:
    async with harness(tmp_path) as h:
        number = h.fake.person_open_issue(REPO, "Tenant data in the wrong export", REPORT,
                                          login="carol", labels=["incident"])
        created = h.fake.issue(REPO, number).created_at
        h.clock.advance(30)
        echoes = h.capture()
        assert (await h.deliver("issues", issue_event(h, "opened", number, sender="carol"))
                ).status_code == 202
        await h.drain()

        assert h.fake.calls("POST", rf"{ISSUES}$") == []  # the report is the incident issue
        issue = h.fake.issue(REPO, number)
        assert issue.body.startswith(REPORT + "\n\n<!-- watchkeeper:declared -->")
        assert issue.title == "[INC-2026-0001] medium: Tenant data in the wrong export"
        assert read_incident_id(issue.body) == "INC-2026-0001"
        assert names(issue.body) == ("declared", "summary", "sla", "roles", "checklist",
                                     "evidence", "timeline", "dod", "meta")
        assert sorted(issue.labels) == ["incident", "severity:medium", "source:declared",
                                        "status:open"]
        (comment,) = issue.comments
        assert comment.body.startswith("@carol thank you for the report.")
        assert mutations(h) == [
            ("POST", f"/repos/{REPO}/labels"), ("POST", f"/repos/{REPO}/labels"),
            ("POST", f"/repos/{REPO}/labels"),  # the three labels the repository lacked
            ("PATCH", f"/repos/{REPO}/issues/{number}"),
            ("POST", f"/repos/{REPO}/issues/{number}/labels"),
            ("POST", f"/repos/{REPO}/issues/{number}/comments"),
        ]
        record = await h.runtime.store.incident_for_issue(REPO, number)
        assert record is not None
        assert (record.id, record.source, record.rule, record.severity) == (
            "INC-2026-0001", "declared", "declared", "medium")
        assert record.detected_at == created and record.tracker_repo == REPO
        assert [(e.actor, e.kind) for e in record.timeline] == [
            ("carol", "declared"), ("watchkeeper", "severity")]

        # GitHub's echoes of the app's own edits, a redelivery of the report, and the
        # `labeled` event sent for the label it was opened with: no second adoption.
        assert echoes and all(p["sender"]["login"] == "watchkeeper[bot]" for _, p in echoes)
        before = len(h.fake.requests)
        await h.deliver_all(echoes)
        await h.deliver("issues", issue_event(h, "opened", number, sender="carol"))
        await h.deliver("issues", issue_event(h, "labeled", number, sender="carol",
                                              label="incident"))
        await h.drain()
        assert mutations(h, before) == []
        assert len(await h.runtime.store.list_incidents()) == 1


async def test_an_issue_from_the_form_is_adopted_with_the_forms_severity(
        tmp_path: Path) -> None:
    async with harness(tmp_path) as h:
        # The repository lacked the `incident` label, so GitHub did not apply it.
        number = h.fake.person_open_issue(REPO, "Incident: tenant export", FORM, login="carol")
        await h.deliver("issues", issue_event(h, "opened", number, sender="carol"))
        await h.drain()
        issue = h.fake.issue(REPO, number)
        assert issue.title == "[INC-2026-0001] high: Incident: tenant export"
        assert issue.body.startswith(FORM + "\n\n")
        assert sorted(issue.labels) == ["incident", "severity:high", "source:declared",
                                        "status:open"]
        assert issue.comments == []  # the form gave a severity: nothing to confirm


async def test_adding_the_incident_label_later_adopts_the_issue(tmp_path: Path) -> None:
    async with harness(tmp_path) as h:
        number = h.fake.person_open_issue(REPO, "Odd logins from one IP", "See logs.",
                                          login="carol", labels=["severity:critical"])
        await h.deliver("issues", issue_event(h, "opened", number, sender="carol"))
        await h.drain()
        assert mutations(h) == []  # an ordinary issue

        h.clock.advance(timedelta(hours=2))
        h.fake.person_add_label(REPO, number, "incident", login="dave")
        await h.deliver("issues", issue_event(h, "labeled", number, sender="dave",
                                              label="incident"))
        await h.drain()
        issue = h.fake.issue(REPO, number)
        assert issue.title == "[INC-2026-0001] critical: Odd logins from one IP"
        assert issue.body.startswith("See logs.\n\n")
        assert issue.comments == []
        record = await h.runtime.store.incident_for_issue(REPO, number)
        assert record is not None and record.severity == "critical"
        assert [(e.actor, e.kind, e.text) for e in record.timeline[:3]] == [
            ("carol", "declared", "Reported: Odd logins from one IP"),
            ("dave", "declared", "Declared an incident by adding the incident label"),
            ("watchkeeper", "recorded", "Adopted by Watchkeeper, 2h after the report"),
        ]


async def test_watchkeepers_own_incident_issue_is_never_adopted(tmp_path: Path) -> None:
    async with harness(tmp_path) as h:
        await h.deliver("workflow_run", failing_secret_scan())
        await h.drain()
        (issue,) = h.fake.issues(REPO)
        before = len(h.fake.requests)
        h.fake.person_remove_label(REPO, issue.number, "incident", login="dave")
        h.fake.person_add_label(REPO, issue.number, "incident", login="dave")
        await h.deliver("issues", issue_event(h, "labeled", issue.number, sender="dave",
                                              label="incident"))
        await h.drain()
        assert mutations(h, before) == []
        assert len(await h.runtime.store.list_incidents(open_only=False)) == 1


async def test_reopening_a_closed_incident_reopens_its_record(tmp_path: Path) -> None:
    async with harness(tmp_path) as h:
        await h.deliver("workflow_run", failing_secret_scan())
        await h.drain()
        (issue,) = h.fake.issues(REPO)
        store = h.runtime.store
        record = await store.incident_for_issue(REPO, issue.number)
        assert record is not None
        # As the closure would leave it: acknowledged earlier, then closed.
        acked = record.detected_at + timedelta(minutes=10)
        closed = record.replace(status="closed", closed_at=acked + timedelta(hours=1),
                                milestones=(("acknowledged", acked),),
                                version=record.version + 1)
        assert await store.save_incident(closed)
        h.fake.person_add_label(REPO, issue.number, "status:closed", login="watchkeeper")
        h.fake.person_close_issue(REPO, issue.number, login="erin")
        h.clock.advance(timedelta(hours=3))
        h.fake.person_reopen_issue(REPO, issue.number, login="erin")
        before = len(h.fake.requests)
        await h.deliver("issues", issue_event(h, "reopened", issue.number, sender="erin"))
        await h.drain()

        reopened = await store.incident_for_issue(REPO, issue.number)
        assert reopened is not None
        assert (reopened.status, reopened.closed_at) == ("acknowledged", None)
        entry = reopened.timeline[-1]
        assert (entry.actor, entry.kind, entry.at) == ("erin", "reopened", h.clock.now())
        assert entry.text == "Reopened by erin; the incident is acknowledged again"
        assert "status:closed" not in h.fake.issue(REPO, issue.number).labels
        assert "status:acknowledged" in h.fake.issue(REPO, issue.number).labels
        assert ("DELETE", f"/repos/{REPO}/issues/{issue.number}/labels/status:closed") in \
            mutations(h, before)
        assert "Reopened by erin" in h.fake.issue(REPO, issue.number).body

        # The same delivery again (or GitHub's echo) changes nothing more.
        before = len(h.fake.requests)
        await h.deliver("issues", issue_event(h, "reopened", issue.number, sender="erin"))
        await h.drain()
        assert mutations(h, before) == []
