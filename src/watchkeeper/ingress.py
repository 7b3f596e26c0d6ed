"""Webhook ingress: from raw request parts to a status code, storing what is accepted.

Order matters: size first (cheap, before reading), then the signature over the
raw bytes (nothing unauthenticated gets parsed), then headers and the JSON
shape, then one durable insert. No GitHub call, no typed parsing, no sleep:
GitHub gives a delivery 10 seconds, and the worker does the real work later.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import re
from collections.abc import AsyncIterable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from watchkeeper.clock import Clock
from watchkeeper.store.base import Delivery, Store

MAX_BODY_BYTES = 25 * 1024 * 1024  # GitHub does not deliver payloads above 25 MB
_SIGNATURE = re.compile(r"sha256=([0-9a-fA-F]{64})")
_DELIVERY_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,127}")
_EVENT = re.compile(r"[a-z][a-z0-9_]{0,63}")

log = logging.getLogger(__name__)

_fast_loads: Callable[..., Any] | None
try:  # pydantic-core (githubkit's pydantic) parses a payload in ~60% of json's time
    from pydantic_core import from_json as _fast_loads
except ImportError:  # pragma: no cover - pydantic v1 installs
    _fast_loads = None


def _loads(raw: bytes) -> object:
    """json.loads' verdict, usually at pydantic-core's speed.

    pydantic-core is stricter (a BOM, lone surrogate escapes, nesting past 200), so
    whatever it refuses gets a second opinion from json: a delivery the worker
    could read must never be turned away here, as GitHub does not send it again.
    """
    if _fast_loads is not None:
        try:
            return _fast_loads(raw, cache_strings="keys")
        except ValueError:
            pass
    return json.loads(raw)


@dataclass(frozen=True, slots=True)
class IngressResult:
    status: int
    message: str
    delivery_id: str | None = None
    event: str | None = None


def sign(secret: str | bytes, body: bytes) -> str:
    """The ``X-Hub-Signature-256`` value GitHub sends for ``body``."""
    key = secret.encode("utf-8") if isinstance(secret, str) else secret
    return "sha256=" + hmac.new(key, body, hashlib.sha256).hexdigest()


def signature_matches(secrets: Sequence[bytes], body: bytes, header: str | None) -> bool:
    """Constant-time check of a ``sha256=<hex>`` header against any configured secret."""
    if header is None:
        return False
    match = _SIGNATURE.fullmatch(header.strip())
    if match is None:
        return False  # absent prefix, SHA-1 ("sha1=..."), wrong length: never a fallback
    given = match.group(1).lower().encode("ascii")
    ok = False
    for key in secrets:
        expected = hmac.new(key, body, hashlib.sha256).hexdigest().encode("ascii")
        ok |= hmac.compare_digest(expected, given)
    return ok


class Ingress:
    """Accepts deliveries; ``on_stored`` (the worker's notify) runs after each insert."""

    def __init__(
        self,
        store: Store,
        secrets: Sequence[str],
        clock: Clock,
        *,
        on_stored: Callable[[], None] | None = None,
        max_bytes: int = MAX_BODY_BYTES,
    ) -> None:
        if not secrets:
            raise ValueError("at least one webhook secret is required")
        self._store = store
        self._secrets = tuple(s.encode("utf-8") for s in secrets)
        self._clock = clock
        self._on_stored = on_stored
        self._max_bytes = max_bytes
        # Requests being answered now: the worker gives way while there are any, so that a
        # backlog being processed never delays the 202 GitHub is waiting for.
        self.in_flight = 0

    async def handle(
        self, headers: Mapping[str, str], body: AsyncIterable[bytes]
    ) -> IngressResult:
        """``headers`` must answer lowercase names (Starlette's Headers does, any case)."""
        self.in_flight += 1
        try:
            return await self._handle(headers, body)
        finally:
            self.in_flight -= 1

    async def _handle(
        self, headers: Mapping[str, str], body: AsyncIterable[bytes]
    ) -> IngressResult:
        length = headers.get("content-length")
        if length is not None and length.strip().isdigit() and int(length) > self._max_bytes:
            return IngressResult(413, "payload too large")
        signature = headers.get("x-hub-signature-256")
        if not signature:
            return _reject(401, "missing X-Hub-Signature-256")

        raw = await _read_capped(body, self._max_bytes)
        if raw is None:
            return IngressResult(413, "payload too large")
        if not signature_matches(self._secrets, raw, signature):
            return _reject(401, "signature does not match")

        event = headers.get("x-github-event", "").strip()
        delivery_id = headers.get("x-github-delivery", "").strip()
        if not _EVENT.fullmatch(event):
            return _reject(400, "missing or malformed X-GitHub-Event")
        if not _DELIVERY_ID.fullmatch(delivery_id):
            return _reject(400, "missing or malformed X-GitHub-Delivery")
        try:
            payload = _loads(raw)
        except (ValueError, RecursionError):
            return _reject(400, "body is not valid JSON", delivery_id)
        if not isinstance(payload, dict):
            return _reject(400, "body is not a JSON object", delivery_id)
        action = payload.get("action")
        delivery = Delivery(
            delivery_id=delivery_id,
            event=event,
            action=action if isinstance(action, str) and len(action) <= 64 else None,
            body=raw,
            received_at=self._clock.now(),
        )
        try:
            stored = await self._store.enqueue(delivery)
        except Exception:
            log.exception("could not store delivery %s (%s)", delivery_id, event)
            return IngressResult(503, "storage unavailable", delivery_id, event)
        if not stored:
            log.info("delivery %s (%s) already received; not processed again", delivery_id, event)
            return IngressResult(200, "already received", delivery_id, event)
        if self._on_stored is not None:
            self._on_stored()
        return IngressResult(202, "accepted", delivery_id, event)


async def _read_capped(body: AsyncIterable[bytes], limit: int) -> bytes | None:
    """The whole body, or None as soon as it passes ``limit`` (the rest is never read)."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in body:
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)


def _reject(status: int, message: str, delivery_id: str | None = None) -> IngressResult:
    log.warning("webhook rejected (%d): %s", status, message)
    return IngressResult(status, message, delivery_id)
