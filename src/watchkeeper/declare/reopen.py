"""`issues.reopened`: a closed incident's record reopens with its issue. Pure."""

from __future__ import annotations

from datetime import datetime

from watchkeeper.actions import AddLabels, EnsureLabels, RemoveLabels
from watchkeeper.incident import Decision, status_label, update_sections
from watchkeeper.notify.plan import notifications_for
from watchkeeper.record import MILESTONES, Incident, Status, TimelineEntry
from watchkeeper.runbook.model import Config


def phase_after_reopen(incident: Incident) -> Status:
    """The latest phase the incident had reached: fixed, contained, acknowledged, or open."""
    reached = [m for m in MILESTONES if incident.milestone(m) is not None]
    return reached[-1] if reached else "open"


def reopen(incident: Incident, actor: str, at: datetime, config: Config,
           now: datetime) -> Decision:
    """Only a closed record reopens; anything else (a replay, or an issue closed without
    its incident) changes nothing."""
    if incident.status != "closed":
        return Decision(incident, ())
    status = phase_after_reopen(incident)
    entry = TimelineEntry(at, actor, "reopened",
                          f"Reopened by {actor}; the incident is {status} again",
                          key=f"reopened:{at.isoformat()}")
    updated = incident.replace(status=status, closed_at=None,
                               timeline=(*incident.timeline, entry))
    label = status_label(status)
    return Decision(updated, (
        update_sections(updated, config, now, "summary", "sla", "timeline", "meta"),
        EnsureLabels(updated.tracker_repo, (label,)),
        RemoveLabels(updated.id, updated.tracker_repo, (status_label("closed").name,)),
        AddLabels(updated.id, updated.tracker_repo, (label.name,)),
        *notifications_for(updated, "reopened", config, f"Reopened by {actor}", now=now,
                           key=f"reopened:{updated.id}:{at.isoformat()}"),
    ))
