"""People override the breach state by removing the `sla:breached` label. Pure.

The removal is recorded in the timeline with who removed it, and every deadline that had
passed by then is marked overridden, so the label is never added again for it (a later
deadline, of another step or after a severity change, can still add it).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from watchkeeper.incident import Decision, update_sections
from watchkeeper.record import Incident, TimelineEntry
from watchkeeper.runbook.model import Config
from watchkeeper.slaclock.effects import BREACHED_LABEL
from watchkeeper.slaclock.steps import override_key, step_met


@dataclass(frozen=True, slots=True)
class LabelRemoval:
    repo: str  # "owner/name" of the issue
    number: int
    actor: str  # login of the person who removed the label
    at: datetime | None  # the issue's updated_at, when the payload has one


def parse_label_removal(payload: Mapping[str, Any]) -> LabelRemoval | None:
    """An `issues.unlabeled` payload removing `sla:breached` by a person, else None."""
    if payload.get("action") != "unlabeled":
        return None
    label, issue = payload.get("label"), payload.get("issue")
    repo, sender = payload.get("repository"), payload.get("sender")
    if not all(isinstance(x, Mapping) for x in (label, issue, repo, sender)):
        return None
    assert isinstance(label, Mapping) and isinstance(issue, Mapping)
    assert isinstance(repo, Mapping) and isinstance(sender, Mapping)
    if str(label.get("name") or "").lower() != BREACHED_LABEL.name:
        return None
    if sender.get("type") != "User" or issue.get("pull_request") is not None:
        return None
    number, name, login = issue.get("number"), repo.get("full_name"), sender.get("login")
    if not isinstance(number, int) or not isinstance(name, str) or not isinstance(login, str):
        return None
    return LabelRemoval(name, number, login, _time(issue.get("updated_at")))


def _time(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None


def _missed(incident: Incident, step: str, deadline: datetime, at: datetime) -> bool:
    met = step_met(incident, step)
    return deadline <= at and (met is None or met > deadline)


def record_override(incident: Incident, removal: LabelRemoval, config: Config, now: datetime,
                    *, event_key: str) -> Decision:
    """Record who removed the label and mark the deadlines passed by then as overridden."""
    if any(entry.key == event_key for entry in incident.timeline):
        return Decision(incident, ())  # this removal is already recorded
    at = removal.at if removal.at is not None and removal.at <= now else now
    keys = [override_key(step, deadline) for step, deadline in incident.sla_clock.deadlines
            if _missed(incident, step, deadline, at)]
    keys += ["sla:override:" + key.removeprefix("sla:breach:") for key in incident.done_keys
             if key.startswith("sla:breach:")]
    entry = TimelineEntry(at, removal.actor, "sla_override",
                          f"Removed the {BREACHED_LABEL.name} label: SLA breach overridden",
                          key=event_key)
    updated = incident.with_done(*keys).replace(timeline=(*incident.timeline, entry))
    return Decision(updated, (update_sections(updated, config, now, "timeline"),))
