"""End to end: notifications leave for a real local receiver (uvicorn on 127.0.0.1, a
random port) when an incident opens; a failing target is retried a bounded number of
times and never holds up or fails the incident."""

from __future__ import annotations

import asyncio
import json
import logging
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from tests.support import INSTALLATION, REPO, Harness, failing_secret_scan, harness

from watchkeeper.features.notify import SEND_ATTEMPTS
from watchkeeper.github.fake import FakeGitHub

HOOK_SECRET = "pager-header-secret-value"


@dataclass
class Receiver:
    port: int = 0
    # path -> statuses to answer in turn (then 200)
    script: dict[str, list[int]] = field(default_factory=dict)
    seen: list[tuple[str, dict[str, str], Any]] = field(default_factory=list)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def bodies(self, path: str) -> list[Any]:
        return [body for p, _, body in self.seen if p == path]

    def app(self) -> Starlette:
        async def hook(request: Request) -> Response:
            self.seen.append((request.url.path, dict(request.headers), await request.json()))
            statuses = self.script.get(request.url.path) or []
            status = statuses.pop(0) if statuses else 200
            return JSONResponse({"status": status}, status_code=status)
        return Starlette(routes=[Route("/{path:path}", hook, methods=["POST"])])


@asynccontextmanager
async def receiver() -> AsyncIterator[Receiver]:
    recv = Receiver()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    recv.port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(recv.app(), log_level="warning", lifespan="off",
                                           ws="none", access_log=False))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started:
        await asyncio.sleep(0.01)  # the receiver starting up
    try:
        yield recv
    finally:
        server.should_exit = True
        await task
        sock.close()


def settings_for(recv: Receiver) -> dict[str, str]:
    return {"NOTIFY_TARGETS": json.dumps({
        "security-slack": {"type": "slack", "url": recv.url("/slack")},
        "pager": {"type": "webhook", "url": recv.url("/pager"),
                  "headers": {"X-Token": HOOK_SECRET}},
    })}


def fake_with_config(notify: str) -> FakeGitHub:
    fake = FakeGitHub(app_id=4242, app_slug="watchkeeper")
    fake.add_repo(REPO, installation_id=INSTALLATION, private=True, default_branch="master",
                  files={".github/watchkeeper.yml": f"notify: {notify}\n"})
    return fake


async def retry_round(h: Harness) -> int:
    h.clock.advance(timedelta(minutes=2))  # past the worker's backoff
    return await h.drain()


async def test_an_opened_incident_notifies_each_named_target(tmp_path: Path) -> None:
    async with receiver() as recv, harness(
            tmp_path, fake=fake_with_config("[security-slack, pager, nowhere]"),
            env=settings_for(recv)) as h:
        await h.deliver("workflow_run", failing_secret_scan(), delivery_id="d-1")
        assert await h.drain() == 3  # the webhook, then one message per known target
        assert len(h.fake.calls("POST", rf"/repos/{REPO}/issues$")) == 1

        (slack,) = recv.bodies("/slack")
        assert slack == {"text": (
            "*INC-2026-0001* · critical · incident opened\n"
            "Incident opened\n"
            "_Workflow Secret scan failed on master_\n"
            f"Status open · {REPO} · <https://github.com/{REPO}/issues/1|issue> · "
            "2026-11-27 09:02 UTC")}
        ((_, headers, pager),) = [s for s in recv.seen if s[0] == "/pager"]
        assert headers["x-token"] == HOOK_SECRET
        assert (pager["event"], pager["incident"]["id"], pager["incident"]["issue_url"]) == (
            "opened", "INC-2026-0001", f"https://github.com/{REPO}/issues/1")

        # A name the server does not define is a configuration problem on the record.
        record = await h.runtime.store.incident_for_issue(REPO, 1)
        assert record is not None
        assert any("'nowhere'" in p for p in record.config_problems)

        # The replayed webhook notifies nobody again.
        await h.deliver("workflow_run", failing_secret_scan(), delivery_id="d-2")
        await h.drain()
        assert len(recv.seen) == 2


async def test_a_declared_incident_notifies_too(tmp_path: Path) -> None:
    async with receiver() as recv, harness(
            tmp_path, fake=fake_with_config("[pager]"), env=settings_for(recv)) as h:
        number = h.fake.person_open_issue(REPO, "Leaked key in a pastebin", "Found it.",
                                          login="carol", labels=["incident"])
        payload = {"action": "opened", "issue": {
            "number": number, "title": "Leaked key in a pastebin", "body": "Found it.",
            "state": "open", "labels": [{"name": "incident"}], "user": {"login": "carol"},
            "created_at": "2026-11-27T09:01:00Z", "updated_at": "2026-11-27T09:01:00Z"},
            "repository": {"name": "octo-repo", "full_name": REPO,
                           "owner": {"login": "octo-org"}},
            "sender": {"login": "carol", "type": "User"},
            "installation": {"id": INSTALLATION}}
        await h.deliver("issues", payload)
        await h.drain()
        (pager,) = recv.bodies("/pager")
        assert pager["summary"] == "Declared by carol: Leaked key in a pastebin"
        assert pager["incident"]["severity"] == "medium"


async def test_a_failing_target_is_retried_then_given_up_without_touching_the_incident(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    async with receiver() as recv, harness(
            tmp_path, fake=fake_with_config("[security-slack, pager]"),
            env=settings_for(recv)) as h:
        recv.script["/pager"] = [503] * 10
        recv.script["/slack"] = [500]  # recovers on the second try
        await h.deliver("workflow_run", failing_secret_scan())
        await h.drain()
        record = await h.runtime.store.incident_for_issue(REPO, 1)
        assert record is not None and record.issue_number == 1  # not held up

        for _ in range(SEND_ATTEMPTS + 2):
            await retry_round(h)
        assert len(recv.bodies("/slack")) == 2
        assert len(recv.bodies("/pager")) == SEND_ATTEMPTS  # bounded
        assert await h.runtime.store.dead_letters() == []
        assert (await h.runtime.store.queue_stats(h.clock.now()))["pending"] == 0
        # Watchkeeper's own logs (the app keeps httpx's request lines at WARNING) say
        # what happened without the target's address or headers.
        ours = "\n".join(r.getMessage() for r in caplog.records
                         if r.name.startswith("watchkeeper"))
        assert "gave up on the opened notification of INC-2026-0001 to pager after 4 " \
               "attempt(s): answered HTTP 503" in ours
        assert HOOK_SECRET not in ours and "/pager" not in ours and "127.0.0.1" not in ours
        assert (await h.runtime.store.incident_for_issue(REPO, 1)) == record


async def test_severity_changes_and_status_updates_reach_the_team_chat(tmp_path: Path) -> None:
    async with receiver() as recv, harness(
            tmp_path, fake=fake_with_config("[security-slack]"), env=settings_for(recv)) as h:
        h.fake.set_permission(REPO, "alice", "write")
        events = h.capture()
        await h.deliver("workflow_run", failing_secret_scan(), delivery_id="d-1")
        await h.drain()
        events.clear()  # the app's own echoes
        h.fake.person_comment(REPO, 1, '/severity high\n/status impact="none seen" '
                              'mitigation="revoking" next="10:00 UTC"', login="alice")
        comment_events = list(events)
        await h.deliver_all(events)
        await h.drain()
        texts = [body["text"] for body in recv.bodies("/slack")]
        assert len(texts) == 3
        assert "incident opened" in texts[0]
        assert any("Severity changed from critical to high by alice" in t for t in texts)
        assert any("Incident INC-2026-0001 | Severity: high | Impact: none seen | "
                   "Mitigation: revoking | Next update: 10:00 UTC" in t for t in texts)
        # Replaying the comment's body under new delivery IDs sends nothing again.
        assert comment_events and comment_events[0][0] == "issue_comment"
        await h.deliver_all(comment_events)
        await h.drain()
        assert len(recv.bodies("/slack")) == 3
