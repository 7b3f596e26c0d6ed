"""GitHub's webhook sender, for the simulated GitHub: every change it announces (people's
acts, the app's own actions, runs and deployments) is signed and POSTed to the server over
HTTP, one at a time and in order, the way GitHub delivers to an App."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import uuid
from dataclasses import dataclass
from typing import Any

import httpx


def sign(body: bytes, secret: str) -> str:
    """``X-Hub-Signature-256``: HMAC-SHA256 of the raw body, hex, prefixed."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


@dataclass(frozen=True, slots=True)
class Sent:
    """One delivery as GitHub's "Recent Deliveries" lists it."""

    delivery_id: str
    event: str
    action: str | None
    sender: str | None
    status: int | None  # None: the request itself failed
    answer: str


class Outbox:
    """A FIFO of webhooks with a count of those not yet answered (``pending``), so the
    demo can tell when everything GitHub had to say has been said."""

    def __init__(self, client: httpx.AsyncClient, path: str, secret: str, app_id: int) -> None:
        self._client = client
        self._path = path
        self._secret = secret
        self._app_id = app_id
        self._queue: asyncio.Queue[tuple[str, bytes]] = asyncio.Queue()
        self.pending = 0
        self.sent: list[Sent] = []

    def enqueue(self, event: str, payload: dict[str, Any]) -> None:
        """The simulated GitHub's event sink: serialised now, as the state is now."""
        self.pending += 1
        self._queue.put_nowait((event, json.dumps(payload).encode("utf-8")))

    async def run(self) -> None:
        while True:
            event, body = await self._queue.get()
            try:
                await self.post(event, body)
            finally:
                self.pending -= 1

    async def post(self, event: str, body: bytes) -> Sent:
        """Sign and deliver one body now (also used for payloads people send by hand)."""
        delivery_id = str(uuid.uuid4())
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "GitHub-Hookshot/watchkeeper-demo",
            "X-GitHub-Event": event,
            "X-GitHub-Delivery": delivery_id,
            "X-GitHub-Hook-ID": "1",
            "X-GitHub-Hook-Installation-Target-Type": "integration",
            "X-GitHub-Hook-Installation-Target-ID": str(self._app_id),
            "X-Hub-Signature-256": sign(body, self._secret),
        }
        action = sender = None
        with contextlib.suppress(ValueError):
            payload = json.loads(body)
            if isinstance(payload, dict):
                action = payload.get("action") if isinstance(payload.get("action"), str) \
                    else None
                who = payload.get("sender")
                sender = who.get("login") if isinstance(who, dict) else None
        try:
            response = await self._client.post(self._path, content=body, headers=headers)
        except httpx.HTTPError as exc:
            sent = Sent(delivery_id, event, action, sender, None, f"{type(exc).__name__}")
        else:
            sent = Sent(delivery_id, event, action, sender, response.status_code,
                        response.text[:200])
        self.sent.append(sent)
        return sent
