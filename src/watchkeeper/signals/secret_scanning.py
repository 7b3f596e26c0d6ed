"""secret_scanning_alert -> detection (created / reopened / publicly leaked),
recovery (resolved) or an alert state change (validity re-checked).

Webhook payloads carry no secret value and this parser never reads one: only the
alert's number, type and state reach the Signal.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from watchkeeper.routing import Router
from watchkeeper.signals.alert import alert_event
from watchkeeper.signals.model import Signal, SignalKind
from watchkeeper.signals.payload import (
    facts,
    installation_id,
    opt_flag,
    opt_section,
    opt_text,
    sender_login,
)

EVENT = "secret_scanning_alert"
KINDS: Mapping[str, SignalKind] = {
    "created": "detection",
    "reopened": "detection",
    "publicly_leaked": "detection",
    "resolved": "recovery",
    "validated": "alert_state",
}
_TIMES: Mapping[str, tuple[str, ...]] = {
    "created": ("created_at",),
    "resolved": ("resolved_at", "updated_at"),
    "publicly_leaked": ("publicly_leaked_at", "updated_at"),
}


def parse(payload: Mapping[str, Any], *, received_at: datetime | None = None) -> Signal | None:
    event = alert_event(payload, KINDS)
    if event is None:
        return None
    alert, alert_number, repo, action = event.alert, event.number, event.repo, event.action
    secret_type = opt_text(alert, "secret_type")
    display = opt_text(alert, "secret_type_display_name") or secret_type
    marker = (opt_text(alert, "updated_at") or opt_text(alert, "resolved_at")
              or opt_text(alert, "created_at") or "")
    bypassed = opt_flag(alert, "push_protection_bypassed")
    return Signal(
        kind=event.kind,
        source="secret_scanning_alert",
        repo=repo,
        subject=str(alert_number),
        event_key=event.event_key(EVENT, marker),
        occurred_at=event.occurred_at(_TIMES, received_at),
        title=f"Secret scanning alert #{alert_number}" + (f": {display}" if display else ""),
        installation_id=installation_id(payload),
        url=opt_text(alert, "html_url"),
        state=opt_text(alert, "state") or ("resolved" if action == "resolved" else "open"),
        facts=facts(
            alert_number=alert_number,
            action=action,
            secret_type=secret_type,
            secret_type_display_name=opt_text(alert, "secret_type_display_name"),
            provider=opt_text(alert, "provider"),
            validity=opt_text(alert, "validity"),
            resolution=opt_text(alert, "resolution"),
            resolved_by=opt_text(opt_section(alert, "resolved_by"), "login"),
            push_protection_bypassed=bypassed,
            push_protection_bypassed_by=opt_text(
                opt_section(alert, "push_protection_bypassed_by"), "login"),
            publicly_leaked=True if action == "publicly_leaked" else opt_flag(
                alert, "publicly_leaked"),
            multi_repo=opt_flag(alert, "multi_repo"),
        ),
        sender=sender_login(payload),
    )


router = Router()
router.register(EVENT, parse, actions=tuple(KINDS))
