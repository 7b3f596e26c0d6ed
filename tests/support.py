"""Shared test wiring: the real app, store and GitHub client against the stateful fake."""

from __future__ import annotations

import copy
import hashlib
import hmac
import json
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from watchkeeper.clock import FrozenClock
from watchkeeper.github.fake import FakeGitHub
from watchkeeper.settings import Settings
from watchkeeper.store.sqlite import SqliteStore
from watchkeeper.wiring import Runtime, build_runtime, create_app

FIXTURES = Path(__file__).parent / "fixtures"
SECRET = "test-webhook-secret"
REPO = "octo-org/octo-repo"
INSTALLATION = 7


def load_payload(event: str, name: str) -> dict[str, Any]:
    path = FIXTURES / "webhooks" / event / f"{name}.json"
    return json.loads(path.read_text(encoding="utf-8"))


def failing_secret_scan(run_id: int = 289782451, attempt: int = 1,
                        updated_at: str = "2026-11-27T09:00:00Z") -> dict[str, Any]:
    """octokit's workflow_run/completed example turned into a failing secret scan.

    Adjusted: the example succeeds, has an empty `name` and no `installation` (GitHub adds
    it to every delivery to an App); conclusion, names, ids and times are set here.
    """
    payload = copy.deepcopy(load_payload("workflow_run", "completed.payload"))
    run = payload["workflow_run"]
    run.update(id=run_id, run_attempt=attempt, conclusion="failure", updated_at=updated_at,
               path=".github/workflows/secret-scan.yml",
               html_url=f"https://github.com/{REPO}/actions/runs/{run_id}")
    payload["workflow"].update(name="Secret scan", path=".github/workflows/secret-scan.yml")
    payload["installation"] = {"id": INSTALLATION,
                               "node_id": "MDIzOkludGVncmF0aW9uSW5zdGFsbGF0aW9uNw=="}
    return payload


def sign(body: bytes, secret: str = SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


@dataclass
class Harness:
    fake: FakeGitHub
    runtime: Runtime
    client: httpx.AsyncClient
    clock: FrozenClock

    async def deliver(self, event: str, payload: dict[str, Any], *,
                      delivery_id: str | None = None, secret: str = SECRET,
                      signature: str | None = None) -> httpx.Response:
        body = json.dumps(payload).encode()
        headers = {
            "X-GitHub-Event": event,
            "X-GitHub-Delivery": delivery_id or str(uuid.uuid4()),
            "X-Hub-Signature-256": signature if signature is not None else sign(body, secret),
            "Content-Type": "application/json",
        }
        return await self.client.post("/api/github/webhooks", content=body, headers=headers)

    async def drain(self) -> int:
        """Process every due delivery, as the in-process worker would."""
        async with self.runtime.gateway.session():
            return await self.client_app.state.worker.run_once()

    client_app: Any = None

    def capture(self) -> list[tuple[str, dict[str, Any]]]:
        """Collect every webhook the fake emits from now on (people's acts and the app's
        own echoes), to deliver them later with `deliver_all`."""
        events: list[tuple[str, dict[str, Any]]] = []
        self.fake.on_event = lambda name, payload: events.append((name, copy.deepcopy(payload)))
        return events

    async def deliver_all(self, events: list[tuple[str, dict[str, Any]]]) -> int:
        """Deliver the captured events (emptying the list) and process them; returns how
        many deliveries were processed."""
        batch, events[:] = list(events), []
        for name, payload in batch:
            response = await self.deliver(name, payload)
            assert response.status_code == 202, response.text
        return await self.drain()


@asynccontextmanager
async def harness(tmp_path: Path, *, now: datetime | None = None,
                  fake: FakeGitHub | None = None,
                  env: dict[str, str] | None = None) -> AsyncIterator[Harness]:
    """`env`: extra server settings (e.g. ALERTS_TOKEN, NOTIFY_TARGETS)."""
    clock = FrozenClock(now or datetime(2026, 11, 27, 9, 2, tzinfo=UTC))
    # The fake's own timestamps (issue updated_at, comment created_at) follow the same clock.
    fake = fake or FakeGitHub(app_id=4242, app_slug="watchkeeper", clock=clock.now)
    if REPO.lower() not in fake.world.repos:
        fake.add_repo(REPO, installation_id=INSTALLATION, private=True, default_branch="master")
    settings = Settings.from_env({
        "APP_ID": str(fake.app_id),
        "PRIVATE_KEY": fake.private_key,
        "WEBHOOK_SECRET": SECRET,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'watchkeeper.db'}",
        "MUTATION_INTERVAL": "0",
        "APP_SLUG": "watchkeeper",
        **(env or {}),
    })
    store = SqliteStore(str(tmp_path / "watchkeeper.db"))
    runtime = build_runtime(settings, store=store, transport=fake, clock=clock)
    app = create_app(settings, runtime=runtime, run_worker=False)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://watchkeeper.test") as client:
        h = Harness(fake, runtime, client, clock)
        h.client_app = app
        try:
            yield h
        finally:
            await store.close()
