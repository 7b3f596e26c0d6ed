"""Small rules shared by the responder decisions: who may act, and when an act happened."""

from __future__ import annotations

from datetime import datetime

# Repository roles allowed to run commands and change the severity.
WRITERS = frozenset({"admin", "maintain", "write"})


def may_write(permission: str | None) -> bool:
    return (permission or "").lower() in WRITERS


def event_time(at: datetime | None, now: datetime, floor: datetime) -> datetime:
    """When a person acted: GitHub's timestamp for it, but never after `now` (clock skew)
    nor before `floor` (the incident's detection: no SLA clock runs backwards)."""
    when = at if at is not None and at <= now else now
    return max(when, floor) if floor <= now else when


def stamp(at: datetime | None) -> str:
    """A payload time as part of an exactly-once key ("" when the payload had none)."""
    return at.strftime("%Y%m%dT%H%M%SZ") if at is not None else ""
