"""`POST /api/alerts`: the Alertmanager-compatible receiver.

Same promises as the webhook ingress: authenticate before reading anything (a bearer
token from the server's settings, compared in constant time), cap the size, validate,
store each alert as a durable delivery (event "watchkeeper_alert") and answer 202.
No GitHub call on the request path: the worker opens or joins incidents. Bad input
gets a 4xx that says what is wrong; without ALERTS_TOKEN the endpoint does not exist.

Point Alertmanager at it with a webhook receiver:

    receivers:
      - name: watchkeeper
        webhook_configs:
          - url: https://watchkeeper.example/api/alerts
            send_resolved: true
            http_config:
              authorization: {type: Bearer, credentials: <ALERTS_TOKEN>}
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from watchkeeper.alarms.alertmanager import InvalidAlerts, parse_alertmanager
from watchkeeper.clock import Clock
from watchkeeper.store.base import Delivery, Store

log = logging.getLogger("watchkeeper.alerts")

PATH = "/api/alerts"
EVENT = "watchkeeper_alert"
# Ingress refuses delivery IDs starting with "~": only this endpoint can queue alerts.
PREFIX = "~alert:"
MAX_BODY_BYTES = 4 * 1024 * 1024


def delivery_id(event_key: str) -> str:
    return PREFIX + hashlib.sha256(event_key.encode("utf-8", "replace")).hexdigest()[:40]


def _error(status: int, message: str, **headers: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status, headers=headers or None)


def token_matches(header: str | None, token: str) -> bool:
    """`Authorization: Bearer <token>`, compared in constant time (digests, so the
    comparison does not even depend on the length)."""
    scheme, _, given = (header or "").strip().partition(" ")
    if scheme.lower() != "bearer":
        return False
    digest = hashlib.sha256(given.strip().encode("utf-8", "replace")).digest()
    return hmac.compare_digest(digest, hashlib.sha256(token.encode("utf-8")).digest())


async def _read_capped(request: Request, limit: int) -> bytes | None:
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def alerts_route(token: str | None, store: Store, clock: Clock) -> Route:
    async def receive(request: Request) -> Response:
        if token is None:
            return _error(404, "the alerts endpoint is disabled (the server sets no ALERTS_TOKEN)")
        if not token_matches(request.headers.get("authorization"), token):
            log.warning("alerts request refused: missing or wrong bearer token")
            return _error(401, "a valid bearer token is required",
                          **{"WWW-Authenticate": 'Bearer realm="watchkeeper"'})
        length = request.headers.get("content-length", "")
        if length.strip().isdigit() and int(length) > MAX_BODY_BYTES:
            return _error(413, "the body is too large")
        raw = await _read_capped(request, MAX_BODY_BYTES)
        if raw is None:
            return _error(413, "the body is too large")
        try:
            data: Any = json.loads(raw)
        except (ValueError, RecursionError):
            return _error(400, "the body is not valid JSON")
        try:
            batch = parse_alertmanager(data)
        except InvalidAlerts as exc:
            return _error(422, str(exc))
        if not batch.alarms:
            return _error(422, "no alert names a repository: "
                          + "; ".join(batch.ignored[:10]))
        now = clock.now()
        stored = 0
        try:
            for alarm in batch.alarms:
                body = json.dumps(alarm.to_json()).encode()
                delivery = Delivery(delivery_id(alarm.event_key), EVENT, alarm.status, body, now)
                stored += bool(await store.enqueue(delivery))
        except Exception:
            log.exception("could not store alerts")
            return _error(503, "storage unavailable; send again")
        worker = getattr(request.app.state, "worker", None)
        if stored and worker is not None:
            worker.notify()
        log.info("alerts accepted: %d new, %d already received, %d ignored", stored,
                 len(batch.alarms) - stored, len(batch.ignored))
        return JSONResponse({"accepted": stored, "duplicates": len(batch.alarms) - stored,
                             "ignored": list(batch.ignored)}, status_code=202)

    return Route(PATH, receive, methods=["POST"])
