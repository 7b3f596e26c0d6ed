"""The `Notify` action: tell the configured channels about an incident event.

Executed after the GitHub actions of the same decision. Performing it only queues
one durable message per target (keyed, so a retried decision queues nothing new);
sending, with its bounded retries, happens apart from the incident flow.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

# The events notifications are sent for. "opened", "reopened" are sent by Watchkeeper
# itself; the others by the features that decide them (see notifications_for).
EVENTS: tuple[str, ...] = (
    "opened", "severity_changed", "status_update", "sla_breach", "closed", "reopened",
)


@dataclass(frozen=True, slots=True)
class Notify:
    incident_id: str
    event: str  # one of EVENTS
    summary: str  # one line, raw (escaped per channel when the message is built)
    # Target names chosen by the repository's config (`notify:`); the server's settings
    # map names to URLs. A name the server does not define is a configuration problem.
    targets: tuple[str, ...] = ()
    # Identity of this notification: the same key is never queued twice per target.
    key: str = ""
    at: datetime | None = None  # when the event happened (shown in the message)
