"""`watchkeeper demo`: the real server (uvicorn on 127.0.0.1, SQLite) against the simulated
GitHub, which delivers signed webhooks over HTTP. The whole story plays to the end; its
issue and postmortem are what a responder reads. Then the --serve page: rendering (task
lists, tables, hostile text escaped) and a payload of one's own signed and delivered."""

from __future__ import annotations

import html
import io
import re
import time
from datetime import UTC, datetime

import httpx
import pytest

from watchkeeper.cli import build_parser
from watchkeeper.demo import payloads
from watchkeeper.demo.delivery import sign
from watchkeeper.demo.page import DemoPage
from watchkeeper.demo.play import played
from watchkeeper.demo.serving import serving
from watchkeeper.demo.stage import stage
from watchkeeper.demo.visible import strip_comments
from watchkeeper.demo.world import REPO, SECRET_SCAN
from watchkeeper.render.markers import extract

DAY = datetime(2026, 11, 26, tzinfo=UTC)  # a Thursday
BOT = "watchkeeper[bot]"


def in_order(text: str, *parts: str) -> bool:
    at = 0
    for part in parts:
        found = text.find(part, at)
        if found < 0:
            return False
        at = found + len(part)
    return True


async def test_the_demo_plays_the_runbook_from_detection_to_postmortem() -> None:
    out = io.StringIO()
    started = time.monotonic()
    async with played(out, start=DAY) as (st, ending):
        # Every webhook went over HTTP to the real server and was accepted, the app's own
        # changes included (echoed back by the simulated GitHub, skipped by the app).
        assert st.server_url.startswith("http://127.0.0.1:")
        assert st.outbox.sent and {s.status for s in st.outbox.sent} == {202}
        senders = {s.sender for s in st.outbox.sent}
        assert {"alice", "bob", "carol", "dave", BOT} <= senders
        assert (await st.runtime.store.queue_stats(st.clock.now()))["dead"] == 0
        merge = st.fake.repo(REPO).issues[ending.outcome.fix_pull].pull.merge_sha
    assert time.monotonic() - started < 30
    assert ending.problems == []

    issue = ending.issue
    assert (issue.number, issue.state, issue.state_reason) == (2, "closed", "completed")
    assert issue.title == "[INC-2026-0001] high: Workflow Secret scan failed on main"
    assert sorted(issue.labels) == ["incident", "needs:definition-of-done", "severity:high",
                                    "source:workflow_run", "status:closed"]
    body = issue.body or ""
    assert in_order(body, "## What failed", "## SLA", "## Roles", "## Response checklist",
                    "## Evidence", "## Timeline", "## Definition of Done")
    assert "| Incident Commander | @alice |" in body
    assert "| Mitigation Owner | @carol |" in body and "| Security Owner | @bob |" in body
    assert "| Acknowledge | 1 hour | 2026-11-26 10:00 UTC | met (after 4m) |" in body
    assert "| Contain | 24 hours | 2026-11-27 09:00 UTC | met (after 1h 10m) |" in body
    shown = strip_comments(body)
    for item in ("Open incident channel and assign IC.", "revoke key/token",
                 "Complete containment steps.", "Deploy permanent fix."):
        assert f"- [x] {item}\n" in shown
    assert "- [ ] disable feature/route\n" in shown
    assert "gitleaks › Scan for secrets (failed)" in body  # the failed job's step
    assert "Postmortem: [pull request 4](https://github.com/acme/payments-api/pull/4) " \
           "(in review)." in body

    # The timeline shows the story's steps in order, in the record and in the issue.
    kinds = [e.kind for e in ending.outcome.incident.timeline]
    wanted = ["detected", "role", "milestone", "freeze", "severity", "status_update",
              "milestone", "freeze", "decision", "evidence", "evidence", "evidence",
              "deployment", "recovered", "milestone", "rootcause", "closed", "dod",
              "postmortem"]
    it = iter(kinds)
    assert all(kind in it for kind in wanted), kinds
    timeline = extract(body, "timeline") or ""
    assert in_order(
        timeline, "| 2026-11-26 09:00 | watchkeeper | Detected: Workflow Secret scan failed",
        "| 2026-11-26 09:04 | alice | Incident Commander: alice (/ic)",
        "| 2026-11-26 09:07 | watchkeeper | Deployment freeze started",
        "| 2026-11-26 09:20 | alice | Severity changed from critical to high",
        "| 2026-11-26 09:30 | alice | Status update: impact: Billing token exposed",
        "| 2026-11-26 10:10 | bob | Contained (checklist items ticked); SLA met after 1h 10m",
        "| 2026-11-26 10:20 | alice | Decision: Rotate every billing token",
        "| 2026-11-26 11:00 | carol | Pull request #",
        "| 2026-11-26 11:12 | watchkeeper | Workflow CI succeeded on pull request #",
        "| 2026-11-26 11:30 | carol | Fix candidate: pull request #",
        "| 2026-11-26 11:45 | carol | Fix deployed to production: deployment 4242",
        "| 2026-11-26 11:50 | watchkeeper | Signal recovered: Workflow Secret scan succeeded",
        "| 2026-11-26 12:00 | bob | Fixed (checklist items ticked); SLA met after 3h",
        "| 2026-11-26 12:10 | alice | Root cause: A release script copied",
        "| 2026-11-27 12:30 | alice | Closed as completed",
        "| 2026-11-27 12:30 | watchkeeper | Definition of Done: 3 of 4 met")

    # The postmortem, committed on its branch and in review.
    assert ending.postmortem_pull == 4
    assert ending.postmortem_branch == "watchkeeper/postmortem-INC-2026-0001"
    assert ending.postmortem_path == "docs/postmortems/2026-11-26-INC-2026-0001.md"
    fields = extract(ending.postmortem or "", "fields") or ""
    assert "| Incident ID | [INC-2026-0001](https://github.com/acme/payments-api/issues/2)" \
        in fields
    assert "| Severity | **high** (opened as critical)" in fields
    assert "Fixed: 2026-11-26 12:00 UTC — SLA met after 3h (target 3 business days)" in fields
    assert "Detection lag: 2h 30m from the offending commit (2026-11-26 06:30 UTC)" in fields
    assert "| Root Cause | A release script copied a debug config holding a live token " \
           "(alice, 2026-11-26 12:10 UTC) |" in fields
    assert "| Customer Impact | 2026-11-26 09:30 UTC: Billing token exposed in the " \
           "repository; no misuse seen (alice) |" in fields
    assert f"merge sha `{merge}`" in fields and "deployment id `4242`" in fields
    assert "Rotate every billing token and load them from the vault (alice)" in (
        extract(ending.postmortem or "", "decisions") or "")

    # The narration: each step, then what the app did; the issue and postmortem at the end.
    text = out.getvalue()
    assert "PROBLEM" not in text and "did not go as the runbook says" not in text
    assert in_order(
        text, "Thu 09:00  GitHub: the Secret scan workflow fails on main.",
        '  issue #2   opened by Watchkeeper: "[INC-2026-0001] critical: Workflow Secret scan',
        "Thu 09:07  alice freezes risky deployments.",
        "  check run  watchkeeper/freeze: failure on pull request #1",
        "Thu 09:20  bob finds the token read-only: alice lowers the severity.",
        "  issue #2   labels +severity:high -severity:critical",
        "Thu 11:30  carol merges pull request #3.",
        "Fri 12:30  alice closes issue #2.",
        '  PR #4      opened by Watchkeeper: "Postmortem INC-2026-0001',
        "=== The incident issue: acme/payments-api#2 (closed) ",
        "Title:  [INC-2026-0001] high: Workflow Secret scan failed on main",
        "=== The postmortem: docs/postmortems/2026-11-26-INC-2026-0001.md ",
        "| Root Cause | A release script copied a debug config holding a live token",
        "=== Done ")
    assert "<!--" not in text.split("=== The incident issue")[1]  # shown as GitHub shows it


def test_demo_is_a_command() -> None:
    args = build_parser().parse_args(["demo", "--serve", "--port", "0"])
    assert (args.command, args.serve, args.port, args.host) == ("demo", True, 0, "127.0.0.1")
    assert build_parser().parse_args(["demo"]).serve is False


HOSTILE = '<script>alert("x")</script> <img src=x onerror="alert(1)"> **bold**'


async def test_the_page_renders_issues_as_github_does_and_sends_payloads() -> None:
    async with stage(DAY) as st:
        st.clock.jump(DAY.replace(hour=9))
        main = st.fake.repo(REPO).branches["main"]
        st.send("workflow_run", payloads.workflow_run(
            st.fake, REPO, run_id=9001, name="Secret scan", path=SECRET_SCAN,
            conclusion="failure", branch="main", sha=main, actor="carol"))
        await st.settle()
        (incident,) = st.fake.issues(REPO)
        st.fake.person_comment(REPO, incident.number, HOSTILE, login="mallory")
        st.fake.create_branch(REPO, "evil")
        st.fake.set_file(REPO, "notes.md", f"# Notes\n\n{HOSTILE}\n", branch="evil")
        pull = st.fake.person_open_pr(
            REPO, head="evil", login="mallory", title='<script>alert("t")</script>',
            body=f"{HOSTILE}\n\n[the incident](https://github.com/{REPO}/issues/"
                 f"{incident.number}) [elsewhere](https://example.com/x) "
                 "[bad](javascript:alert(1))")
        await st.settle()
        page = DemoPage(st)
        async with serving(page.app()) as url, httpx.AsyncClient(base_url=url) as client:
            index = await client.get("/")
            assert index.status_code == 200
            assert "script-src" not in index.headers["content-security-policy"]
            assert index.headers["content-security-policy"].startswith("default-src 'none'")
            assert "<script" not in index.text.lower()
            assert "&lt;script&gt;alert(&quot;t&quot;)&lt;/script&gt;" in index.text
            assert f'href="/{REPO}/issues/{incident.number}"' in index.text

            shown = await client.get(f"/{REPO}/issues/{incident.number}")
            assert shown.status_code == 200
            text = shown.text
            assert '<ul class="contains-task-list">' in text
            assert '<input class="task-list-item-checkbox" disabled="disabled" ' \
                   'type="checkbox"> Open incident channel and assign IC.' in text
            assert "<table>" in text and "<th>Milestone</th>" in text
            assert "<h2>Response checklist</h2>" in text
            assert "wk:assign_ic" not in text and "&lt;!--" not in text  # markers hidden
            assert "<script" not in text.lower() and "<img" not in text.lower()
            assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in text
            assert "&lt;img src=x onerror=&quot;alert(1)&quot;&gt; <strong>bold</strong>" \
                in text
            assert "<span class=label" in text and ">severity:critical</span>" in text
            pr = await client.get(f"/{REPO}/issues/{pull}", follow_redirects=True)
            assert str(pr.url).endswith(f"/{REPO}/pull/{pull}")
            # Links to the simulated GitHub open the page's own views; others stay.
            assert f'<a href="/{REPO}/issues/{incident.number}">the incident</a>' in pr.text
            assert '<a href="https://example.com/x">elsewhere</a>' in pr.text
            assert "notes.md (added)" in pr.text and "<h1>Notes</h1>" in pr.text
            assert "<script" not in pr.text.lower() and "<img" not in pr.text.lower()
            assert "javascript:" not in pr.text.replace("[bad](javascript:alert(1))", "")
            assert (await client.get(f"/{REPO}/issues/999")).status_code == 404

            # Send a payload of one's own: the sample (a failing CodeQL run) opens an incident.
            token = re.search(r'name=token value="([^"]+)"', index.text)
            sample = re.search(r"<textarea name=payload rows=16>(.*?)</textarea>", index.text,
                               re.S)
            assert token and sample
            refused = await client.post("/send", data={"token": "forged", "event": "x",
                                                       "payload": "{}"})
            assert refused.status_code == 403
            before = len(st.outbox.sent)
            broken = await client.post("/send", data={"token": token[1], "event":
                                                      "workflow_run", "payload": "{not json"})
            assert broken.status_code == 400 and "not JSON" in broken.text
            assert len(st.outbox.sent) == before
            sent = await client.post("/send", data={"token": token[1], "event": "workflow_run",
                                                    "payload": html.unescape(sample[1])})
            assert sent.status_code == 200, sent.text
            assert "the server answered <b>202</b>" in sent.text
            assert "opened by Watchkeeper: &quot;[INC-2026-0002] high: Workflow CodeQL " \
                   "failed on main&quot;" in sent.text
            assert st.outbox.sent[before].sender == "dave"
            opened = [i for i in st.fake.issues(REPO) if i.user.login == BOT]
            assert [i.title for i in opened][-1] == \
                "[INC-2026-0002] high: Workflow CodeQL failed on main"


def test_deliveries_are_signed_like_githubs() -> None:
    # GitHub Docs' test vector ("Validating webhook deliveries").
    assert sign(b"Hello, World!", "It's a Secret to Everybody") == (
        "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17")


@pytest.mark.parametrize("markdown,expected", [
    ("a <!-- x -->\n<!-- y -->\nb\n", "a\nb\n"),
    ("```\n<!-- kept -->\n```\n", "```\n<!-- kept -->\n```\n"),
])
def test_hidden_markers_are_hidden(markdown: str, expected: str) -> None:
    assert strip_comments(markdown) == expected
