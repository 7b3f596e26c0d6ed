"""`repository_dispatch` with `event_type: incident`: an alarm sent through GitHub.

GitHub has authenticated the sender (a token with write access to the repository).
The client payload: title, severity, service, summary, dedup_key, event_id (all optional
strings) and `status` ("firing", the default, or "resolved").

A dispatch carries no identity of its own, and GitHub's signature covers only the body: a
captured delivery replayed under a new delivery ID looks like a second notification. Senders
should set `event_id` (unique per notification, e.g. the alert's fingerprint and start time);
replays of it are then recognised. Without it, the delivery ID is all there is.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from watchkeeper.alarms.model import Alarm, AlarmStatus
from watchkeeper.signals.payload import MalformedPayload, repository, sender_login

EVENT_TYPE = "incident"
_LIMITS = {"title": 200, "severity": 40, "service": 100, "summary": 2000, "dedup_key": 200,
           "status": 20, "event_id": 200}


def _field(payload: Mapping[str, Any], key: str) -> str | None:
    value = payload.get(key)
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise MalformedPayload(f"client_payload.{key} must be a string")
    text = " ".join(str(value).split())
    return text[: _LIMITS[key]] or None


def parse_dispatch(payload: Mapping[str, Any], *, delivery_id: str,
                   received_at: datetime) -> Alarm | None:
    """None unless the dispatch's event type is "incident"."""
    if payload.get("action") != EVENT_TYPE:
        return None
    repo = repository(payload).full_name
    raw = payload.get("client_payload")
    client: Mapping[str, Any] = raw if isinstance(raw, Mapping) else {}
    if raw is not None and not isinstance(raw, Mapping):
        raise MalformedPayload("client_payload must be an object")
    fields = {key: _field(client, key) for key in _LIMITS}
    if fields["status"] not in (None, "firing", "resolved"):
        raise MalformedPayload("client_payload.status must be firing or resolved")
    status: AlarmStatus = "resolved" if fields["status"] == "resolved" else "firing"
    service = fields["service"]
    title = fields["title"] or ("Production alarm" + (f" on {service}" if service else ""))
    return Alarm(
        origin="repository_dispatch",
        repo=repo,
        status=status,
        title=title,
        dedup_key=fields["dedup_key"] or f"title:{title}",
        at=received_at,
        event_key=(f"repository_dispatch:{repo}:{fields['event_id']}" if fields["event_id"]
                   else f"repository_dispatch:{delivery_id}"),
        severity=fields["severity"],
        service=service,
        summary=fields["summary"],
        sender=sender_login(payload),
    )
