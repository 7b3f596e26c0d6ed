"""due_effects(): what the SLA clock does for one incident at one moment. Pure.

Each reminder and breach happens once: its done key (step + deadline) is stored on the
record with the effect, and the comment carries the key as a hidden marker so a retried
sweep finds it instead of posting again. A breach that is already due swallows its
reminder (one message, not two, after downtime or an escalated severity).
"""

from __future__ import annotations

from datetime import datetime

from watchkeeper.actions import Action, AddLabels, Comment, EnsureLabels, LabelSpec
from watchkeeper.incident import ACTOR, Decision, update_sections
from watchkeeper.notify.plan import notifications_for
from watchkeeper.record import Incident, SlaClock, TimelineEntry
from watchkeeper.runbook.model import Config
from watchkeeper.slaclock.messages import breach_comment, reminder_comment, timeline_text
from watchkeeper.slaclock.steps import (
    REFRESH,
    STEPS,
    Timer,
    clock_basis,
    deadlines_for,
    override_key,
    reminder_key,
    timers,
)

BREACHED_LABEL = LabelSpec("sla:breached", "b60205",
                           "An SLA deadline of this incident passed (remove to override)")


def due_effects(
    incident: Incident,
    config: Config,
    now: datetime,
    *,
    next_release_due: datetime | None = None,
    next_release_title: str = "",
) -> Decision:
    """The record with its SLA clock brought up to `now`, and the comments and label due.

    `next_release_due` is the due date of the repository's next open milestone (the
    deadline of "next release" targets); None means there is none, so no deadline.
    """
    if incident.status == "closed" or incident.issue_number is None:
        return Decision(incident, ())
    due = deadlines_for(incident, config, next_release_due)
    pending = timers(incident, due, config.reminder_at)
    breached = {t.step for t in pending if t.kind == "breach" and t.at <= now}
    updated = incident
    fired: list[Timer] = []
    comments: list[Action] = []
    label = False
    for timer in pending:
        if timer.at > now or updated.done(timer.key):
            continue
        if timer.kind == "reminder":
            updated = updated.with_done(timer.key)
            if timer.step not in breached:  # a due breach says it all
                fired.append(timer)
                comments.append(Comment(incident.id, incident.tracker_repo,
                                        reminder_comment(incident, config, timer, now),
                                        key=timer.key))
            continue
        overridden = updated.done(override_key(timer.step, timer.deadline))
        label = label or not overridden
        fired.append(timer)
        comments.append(Comment(incident.id, incident.tracker_repo,
                                breach_comment(incident, config, timer, now,
                                               labelled=not overridden),
                                key=timer.key))
        updated = updated.with_done(timer.key, reminder_key(timer.step, timer.deadline))
    upcoming = [t.at for t in pending if t.at > now and not updated.done(t.key)]
    clock = SlaClock(
        basis=clock_basis(incident),
        deadlines=tuple((step, at) for step in STEPS if (at := due[step]) is not None),
        next_check=min([*upcoming, now + REFRESH]),
        release_due=next_release_due,
        release_title=next_release_title if next_release_due is not None else "",
    )
    entries = tuple(TimelineEntry(now, ACTOR, t.kind, timeline_text(t, now), key=t.key)
                    for t in fired)
    updated = updated.replace(sla_clock=clock, timeline=(*updated.timeline, *entries))
    actions: list[Action] = list(comments)
    if label:
        actions += [EnsureLabels(incident.tracker_repo, (BREACHED_LABEL,)),
                    AddLabels(incident.id, incident.tracker_repo, (BREACHED_LABEL.name,))]
    old = incident.sla_clock
    release_changed = (old.release_due, old.release_title) != (clock.release_due,
                                                                clock.release_title)
    if fired:
        actions.append(update_sections(updated, config, now, "sla", "timeline"))
    elif release_changed:
        actions.append(update_sections(updated, config, now, "sla"))
    for timer in fired:  # the configured channels hear of breaches (after the GitHub actions)
        if timer.kind == "breach":
            # Notify is the notify feature's action (Decision types only the core ones).
            actions += notifications_for(  # type: ignore[arg-type]
                updated, "sla_breach", config, timeline_text(timer, now), now=now,
                key=timer.key)
    return Decision(updated, tuple(actions))


def fired_effects(before: Incident, after: Incident) -> list[tuple[str, str]]:
    """(kind, step) of the reminders and breaches a decision performed (for metrics, logs)."""
    seen = {entry.key for entry in before.timeline}
    return [(entry.kind, entry.key.split(":")[2]) for entry in after.timeline
            if entry.kind in ("reminder", "breach") and entry.key
            and entry.key.startswith("sla:") and entry.key not in seen]
