"""Decisions for `issues` events on an incident issue: body edits (checklist ticks), severity
labels added or removed, and assignment of the first Incident Commander.

Label events carry a key from the payload (label, action, time) so a replayed delivery
changes nothing; a label already matching the record is no news either, which is also why
Watchkeeper's own label changes, echoed back by GitHub, cause no further change.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from watchkeeper.incident import Decision, severity_label
from watchkeeper.lifecycle import replies, roles, severity
from watchkeeper.lifecycle.common import event_time, stamp
from watchkeeper.lifecycle.draft import Draft
from watchkeeper.lifecycle.events import IssueEvent
from watchkeeper.lifecycle.ticks import apply_ticks, tick_changes
from watchkeeper.record import Incident
from watchkeeper.runbook.model import Config

Handler = Callable[[Draft, IssueEvent, datetime, bool], None]


def needs_permission(incident: Incident, event: IssueEvent) -> bool:
    """Whether the decision depends on the actor's permission (so the shell asks GitHub
    only then)."""
    if event.action == "labeled":
        level = severity.label_level(event.label)
        return level is not None and level != incident.severity
    if event.action == "assigned":
        return event.assignee is not None and incident.role("incident_commander") is None
    return False


def decide_issue_event(incident: Incident, event: IssueEvent, config: Config, now: datetime,
                       *, allowed: bool = False) -> Decision:
    """`allowed`: the actor has write, maintain or admin permission (see needs_permission)."""
    handler = HANDLERS.get(event.action)
    if handler is None:
        return Decision(incident, ())
    draft = Draft.start(incident, config, now)
    handler(draft, event, event_time(event.at, now, incident.detected_at), allowed)
    return draft.decision()


def _edited(draft: Draft, event: IssueEvent, at: datetime, allowed: bool) -> None:
    ticks = tick_changes(draft.config, draft.incident.checklist_done, event.issue.body,
                         event.body_from)
    apply_ticks(draft, ticks, at, event.actor)


def _labeled(draft: Draft, event: IssueEvent, at: datetime, allowed: bool) -> None:
    level = severity.label_level(event.label)
    if level is None or event.label is None or level == draft.incident.severity:
        return
    key = f"label:added:{event.label.lower()}:{stamp(event.at)}"
    if event.at is not None and draft.incident.done(key):
        return
    draft.done(key)
    if not allowed:
        draft.relabel(remove=(event.label,))
        draft.reply(replies.label_refusal(event.actor, event.label), key=f"reply:{key}")
        return
    text = severity.change(draft, level, event.actor, at, f"label {event.label}",
                           event.issue.labels, key=key)
    if text is not None:
        draft.reply(text, key=f"reply:{key}")


def _unlabeled(draft: Draft, event: IssueEvent, at: datetime, allowed: bool) -> None:
    """Removing the only severity label restores it: an incident always has a severity."""
    level = severity.label_level(event.label)
    if level is None or level != draft.incident.severity:
        return
    if severity.severity_labels(event.issue.labels):
        return  # another severity label is on the issue: its own event decides
    key = f"label:removed:{(event.label or '').lower()}:{stamp(event.at)}"
    if event.at is not None and draft.incident.done(key):
        return
    draft.done(key)
    spec = severity_label(level)
    draft.relabel(add=(spec.name,), specs=(spec,))
    draft.log(at, event.actor, "severity",
              f"Label {spec.name} removed; restored (an incident keeps one severity)", key=key)
    draft.reply(replies.label_restored(spec.name, event.actor), key=f"reply:{key}")


def _assigned(draft: Draft, event: IssueEvent, at: datetime, allowed: bool) -> None:
    """The first person assigned in GitHub becomes Incident Commander (the runbook's first
    step is "assign IC"); later assignments are left to people and commands."""
    who = event.assignee
    if not allowed or who is None or who.lower().endswith("[bot]"):
        return
    if draft.incident.role("incident_commander") is not None:
        return
    roles.assign(draft, "incident_commander", who, event.actor, at,
                 "first assignee in GitHub", event.issue.assignees)


HANDLERS: dict[str, Handler] = {
    "edited": _edited,
    "labeled": _labeled,
    "unlabeled": _unlabeled,
    "assigned": _assigned,
}
