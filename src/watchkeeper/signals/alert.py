"""What the three alert sources (code scanning, secret scanning, Dependabot) share: the
action that decides the signal's kind, the alert object, its number and repository, the
replay identity and the alert's own time for that action."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from watchkeeper.signals.model import RepoRef, SignalKind
from watchkeeper.signals.payload import first_time, number, repository, section


@dataclass(frozen=True, slots=True)
class AlertEvent:
    action: str
    kind: SignalKind
    alert: Mapping[str, Any]
    number: int
    repo: RepoRef

    def event_key(self, source: str, marker: str | None) -> str:
        """The event's own identity, so a replayed body under a new delivery ID is no news."""
        return f"{source}:{self.repo.full_name}:{self.number}:{self.action}:{marker or ''}"

    def occurred_at(self, times: Mapping[str, tuple[str, ...]],
                    received_at: datetime | None) -> datetime:
        """The alert's own time for this action (then updated/created, then receipt)."""
        return first_time(self.alert, times.get(self.action, ("updated_at", "created_at")),
                          received_at, last_resort=("created_at",))


def alert_event(payload: Mapping[str, Any],
                kinds: Mapping[str, SignalKind]) -> AlertEvent | None:
    """None for actions that are no signal; MalformedPayload when the alert is unusable."""
    action = payload.get("action")
    kind = kinds.get(action) if isinstance(action, str) else None
    if kind is None or not isinstance(action, str):
        return None
    alert = section(payload, "alert")
    return AlertEvent(action, kind, alert, number(alert, "number"), repository(payload))
