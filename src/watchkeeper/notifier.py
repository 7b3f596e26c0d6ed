"""Sending one notification over HTTP, and saying whether trying again could help.

Never raises: a failing channel must not fail the incident flow. Errors are described
without the target's URL or headers (a Slack webhook URL is a credential) and without
the response body.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import httpx

from watchkeeper.notify.targets import NotifyTarget

USER_AGENT = "Watchkeeper-Notifier"
MAX_RETRY_AFTER = 300.0


@dataclass(frozen=True, slots=True)
class SendResult:
    ok: bool
    retryable: bool = False
    status: int | None = None
    retry_after: float | None = None  # seconds, when the receiver asked
    error: str = ""


class Notifier:
    """Posts JSON to the operator's targets. ``transport`` is for tests (a local app)."""

    def __init__(self, targets: Sequence[NotifyTarget], *,
                 transport: httpx.AsyncBaseTransport | None = None,
                 timeout: float = 10.0) -> None:
        self._targets = {t.name: t for t in targets}
        self._transport = transport
        self._timeout = timeout

    def target(self, name: str) -> NotifyTarget | None:
        return self._targets.get(name)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(self._targets)

    async def send(self, target: NotifyTarget, body: dict[str, Any]) -> SendResult:
        headers = {"User-Agent": USER_AGENT, **dict(target.headers)}
        try:
            async with httpx.AsyncClient(transport=self._transport, timeout=self._timeout,
                                         follow_redirects=False) as client:
                response = await client.post(target.url, json=body, headers=headers)
        except httpx.TimeoutException as exc:
            return SendResult(False, retryable=True, error=f"timed out ({type(exc).__name__})")
        except httpx.HTTPError as exc:
            return SendResult(False, retryable=True, error=f"no answer ({type(exc).__name__})")
        status = response.status_code
        if 200 <= status < 300:
            return SendResult(True, status=status)
        retryable = status in (408, 425, 429) or status >= 500
        return SendResult(False, retryable=retryable, status=status,
                          retry_after=_retry_after(response.headers.get("retry-after")),
                          error=f"answered HTTP {status}")


def _retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After header given as seconds (an HTTP date falls back to our
    own backoff), capped so one receiver cannot park a message for long."""
    value = (value or "").strip()
    return min(float(value), MAX_RETRY_AFTER) if value.isdigit() else None
