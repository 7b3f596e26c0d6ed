"""`notifications_for`: the Notify actions a feature appends for one incident event."""

from __future__ import annotations

import hashlib
from datetime import datetime

from watchkeeper.notify.action import EVENTS, Notify
from watchkeeper.record import Incident
from watchkeeper.runbook.model import Config

_DEFAULT_SUMMARIES = {
    "opened": "Incident opened",
    "severity_changed": "Severity changed",
    "status_update": "Status update",
    "sla_breach": "SLA deadline missed",
    "closed": "Incident closed",
    "reopened": "Incident reopened",
}


def notifications_for(
    incident: Incident,
    event: str,
    config: Config,
    summary: str | None = None,
    *,
    now: datetime | None = None,
    key: str | None = None,
) -> tuple[Notify, ...]:
    """Append these to a decision's actions (after the GitHub ones). Empty when the
    repository's config names no target. Pure.

    `incident` is the record after the change; `summary` one line for people (default:
    the event's name); `key` identifies this notification so a retried decision does not
    notify twice (default: derived from the event, the summary and the timeline length,
    which is stable for a decision re-made from the same record). Pass the key you
    already use for exactly-once effects when you have one (a breach's done key, a
    command's comment ID).
    """
    if event not in EVENTS:
        raise ValueError(f"unknown notification event {event!r}")
    if not config.notify:
        return ()
    text = summary or _DEFAULT_SUMMARIES[event]
    if key is None:
        digest = hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]
        key = (f"opened:{incident.id}" if event == "opened"
               else f"{event}:{incident.id}:{len(incident.timeline)}:{digest}")
    at = now or (incident.timeline[-1].at if incident.timeline else incident.recorded_at)
    return (Notify(incident.id, event, text, tuple(dict.fromkeys(config.notify)), key, at),)
