"""End to end: a signed webhook through the ASGI app, the store and the worker to the
(fake) GitHub API — asserting on the exact requests the app makes."""

from __future__ import annotations

import re
from pathlib import Path

from tests.support import INSTALLATION, REPO, failing_secret_scan, harness

from watchkeeper.render.checklist import parse_ticks

ISSUES = rf"/repos/{REPO}/issues"


def mutations(fake) -> list[tuple[str, str]]:
    return [(r.method, r.path) for r in fake.requests if r.method != "GET"
            and not r.path.startswith("/app/")]


async def test_failing_secret_scan_opens_exactly_one_incident_issue(tmp_path: Path) -> None:
    async with harness(tmp_path) as h:
        response = await h.deliver("workflow_run", failing_secret_scan(), delivery_id="d-1")
        assert response.status_code == 202
        assert h.fake.requests == []  # no GitHub call on the request path
        assert await h.drain() == 1

        creates = h.fake.calls("POST", ISSUES)
        assert len(creates) == 1
        issue = creates[0].json
        assert issue["title"] == (
            "[INC-2026-0001] critical: Workflow Secret scan failed on master"
        )
        assert sorted(issue["labels"]) == [
            "incident", "severity:critical", "source:workflow_run", "status:open"]
        body = issue["body"]
        for section in ("summary", "sla", "roles", "checklist", "evidence", "timeline", "dod",
                        "meta"):
            assert f"<!-- watchkeeper:{section} -->" in body
        assert "<!-- watchkeeper:incident INC-2026-0001 -->" in body
        # Critical: acknowledge 15 min, contain 4 h, fix 24 h from the run's completion.
        assert "2026-11-27 09:15 UTC" in body
        assert "2026-11-27 13:00 UTC" in body
        assert "2026-11-28 09:00 UTC" in body
        assert "https://github.com/octo-org/octo-repo/actions/runs/289782451" in body
        ticks = parse_ticks(body)
        assert ticks and not any(ticks.values())
        assert "revoke_credentials" in ticks

        # The installation token was used for every repository call.
        assert {r.installation_id for r in h.fake.requests if r.path.startswith("/repos/")} == {
            INSTALLATION}
        stored = await h.runtime.store.incident_for_issue(REPO, h.fake.issues(REPO)[0].number)
        assert stored is not None and stored.severity == "critical"
        assert stored.detected_at.isoformat() == "2026-11-27T09:00:00+00:00"
        assert stored.recorded_at.isoformat() == "2026-11-27T09:02:00+00:00"


async def test_redelivery_and_repeated_failure_open_no_second_issue(tmp_path: Path) -> None:
    async with harness(tmp_path) as h:
        payload = failing_secret_scan()
        assert (await h.deliver("workflow_run", payload, delivery_id="d-1")).status_code == 202
        await h.drain()
        # The same delivery again (GitHub redelivery): acknowledged, not processed again.
        before = len(h.fake.requests)
        assert (await h.deliver("workflow_run", payload, delivery_id="d-1")).status_code == 200
        assert await h.drain() == 0
        assert len(h.fake.requests) == before

        # The same body under a new delivery ID (a replay): no effect either.
        assert (await h.deliver("workflow_run", payload, delivery_id="d-2")).status_code == 202
        await h.drain()
        assert mutations(h.fake)[-1:] == [("POST", ISSUES)] or not [
            m for m in mutations(h.fake) if m[0] == "POST" and m[1] == ISSUES][1:]
        assert len(h.fake.calls("POST", ISSUES)) == 1

        # A new failing run of the same workflow on the same branch joins the incident.
        h.clock.advance(120)
        repeat = failing_secret_scan(run_id=289782999, updated_at="2026-11-27T09:03:00Z")
        assert (await h.deliver("workflow_run", repeat, delivery_id="d-3")).status_code == 202
        await h.drain()
        assert len(h.fake.calls("POST", ISSUES)) == 1
        number = h.fake.issues(REPO)[0].number
        patches = h.fake.calls("PATCH", rf"{ISSUES}/{number}")
        assert len(patches) == 1
        assert "2 occurrences" in patches[0].json["body"] or "occurrence 2" in patches[0].json[
            "body"]
        # Inside the coalescing window: the body is updated, no comment is posted.
        assert h.fake.calls("POST", rf"{ISSUES}/{number}/comments") == []
        stored = await h.runtime.store.incident_for_issue(REPO, number)
        assert stored is not None and stored.occurrences.count == 2


async def test_forged_signature_makes_no_request_at_all(tmp_path: Path) -> None:
    async with harness(tmp_path) as h:
        response = await h.deliver("workflow_run", failing_secret_scan(), secret="wrong")
        assert response.status_code == 401
        assert await h.drain() == 0
        assert h.fake.requests == []


async def test_user_text_in_payload_cannot_mention_or_inject(tmp_path: Path) -> None:
    async with harness(tmp_path) as h:
        payload = failing_secret_scan()
        payload["workflow_run"]["head_branch"] = "@octo-org/admins-#1--><script>x</script>"
        payload["workflow_run"]["display_title"] = "[click](https://evil.example) @octocat"
        await h.deliver("workflow_run", payload)
        await h.drain()
        body = h.fake.calls("POST", ISSUES)[0].json["body"]
        title = h.fake.calls("POST", ISSUES)[0].json["title"]
        # Hidden metadata cannot be broken out of: exactly the comments Watchkeeper wrote.
        comments = re.findall(r"<!--.*?-->", body, flags=re.S)
        assert all(c.startswith("<!-- watchkeeper:") or c.startswith("<!-- /watchkeeper:")
                   or c.startswith("<!-- wk:") for c in comments), comments
        visible = re.sub(r"<!--.*?-->", "", body, flags=re.S)
        # Code spans render their content literally (no HTML, no mentions): look outside.
        assert "<script>" not in re.sub(r"`[^`\n]*`", "", visible)
        # Titles are plain text on GitHub (no HTML); they still must not mention anyone.
        for text in (re.sub(r"`[^`\n]*`", "", visible), title):
            assert not re.search(r"(?<!\w)@octo-org/admins", text)
            assert not re.search(r"(?<!\w)@octocat\b", text)
            assert "](https://evil.example)" not in text
