"""The three SLA steps of an incident, their deadlines and the timers they start.

A step (acknowledge, contain, fix) is met when its milestone is reached, or a later one
is (a fix contains the incident; containment implies someone acknowledged it). Each
pending step with a deadline has two timers: a reminder at `reminder_at` of the allowed
time and the breach at the deadline. A timer's identity holds the deadline, so when a
severity change moves the deadline the timer is a new one: rescheduled, not lost.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from watchkeeper.record import Incident
from watchkeeper.runbook.model import Config, SlaTargets
from watchkeeper.runbook.sla import MILESTONES as STEPS
from watchkeeper.runbook.sla import deadlines_with_fallback

__all__ = ["STEPS", "Timer", "breach_key", "clock_basis", "deadlines_for", "needs_check",
           "needs_release", "override_key", "reminder_key", "step_met", "timers"]

MILESTONE_OF: Mapping[str, str] = {"acknowledge": "acknowledged", "contain": "contained",
                                   "fix": "fixed"}
STEP_TITLES: Mapping[str, str] = {"acknowledge": "Acknowledge", "contain": "Contain",
                                  "fix": "Permanent fix"}
# The roles that own each step: reminders mention them, breaches escalate to their backups.
STEP_ROLES: Mapping[str, tuple[str, ...]] = {
    "acknowledge": ("incident_commander",),
    "contain": ("mitigation_owner",),
    "fix": ("mitigation_owner", "security_owner"),
}
# Without a timer sooner than this, an open incident is still looked at again after it:
# configuration and the next release's milestone can change without any webhook to us.
REFRESH = timedelta(hours=1)

TimerKind = Literal["reminder", "breach"]


def step_met(incident: Incident, step: str) -> datetime | None:
    """When the step was met: its own milestone, else the earliest later one; None: pending."""
    names = list(MILESTONE_OF.values())
    own = names.index(MILESTONE_OF[step])
    reached = [at for name in names[own:] if (at := incident.milestone(name)) is not None]
    mine = incident.milestone(MILESTONE_OF[step])
    return mine if mine is not None else (min(reached) if reached else None)


def targets_for(incident: Incident, config: Config) -> SlaTargets | None:
    return config.sla.get(incident.severity)


def deadlines_for(
    incident: Incident, config: Config, release_due: datetime | None = None
) -> dict[str, datetime | None]:
    """Each step's deadline (None: no deadline, e.g. "next release" with no milestone).

    An unusable calendar falls back to Monday-Friday UTC, as the issue's SLA section says.
    """
    targets = targets_for(incident, config)
    if targets is None:
        return dict.fromkeys(STEPS)
    due, _, _ = deadlines_with_fallback(incident.detected_at, targets, config.calendar,
                                        next_release_due=release_due)
    return due


def needs_release(incident: Incident, config: Config) -> bool:
    """Whether a pending step's target is "next release" (the milestone must be looked up)."""
    targets = targets_for(incident, config)
    return targets is not None and any(
        getattr(targets, step).unit == "next_release" and step_met(incident, step) is None
        for step in STEPS
    )


def clock_basis(incident: Incident) -> str:
    """The record's inputs the timers depend on; a change (severity, milestone) means the
    stored deadlines are stale and the incident is looked at in the next sweep."""
    milestones = ",".join(f"{name}={at.isoformat()}" for name, at in sorted(incident.milestones))
    return f"{incident.severity}|{incident.detected_at.isoformat()}|{incident.status}|{milestones}"


def needs_check(incident: Incident, now: datetime) -> bool:
    """False when the stored clock is current and nothing is due before its next check."""
    clock = incident.sla_clock
    return (clock.basis != clock_basis(incident) or clock.next_check is None
            or clock.next_check <= now)


def reminder_key(step: str, deadline: datetime) -> str:
    return f"sla:reminder:{step}:{deadline.isoformat()}"


def breach_key(step: str, deadline: datetime) -> str:
    return f"sla:breach:{step}:{deadline.isoformat()}"


def override_key(step: str, deadline: datetime) -> str:
    return f"sla:override:{step}:{deadline.isoformat()}"


@dataclass(frozen=True, slots=True)
class Timer:
    step: str
    kind: TimerKind
    at: datetime
    deadline: datetime

    @property
    def key(self) -> str:
        make = reminder_key if self.kind == "reminder" else breach_key
        return make(self.step, self.deadline)


def timers(incident: Incident, due: Mapping[str, datetime | None],
           reminder_at: float) -> list[Timer]:
    """The timers of every pending step that has a deadline, soonest first."""
    found: list[Timer] = []
    for step in STEPS:
        deadline = due.get(step)
        if deadline is None or step_met(incident, step) is not None:
            continue
        allowed = max(deadline - incident.detected_at, timedelta(0))
        found.append(Timer(step, "reminder", incident.detected_at + allowed * reminder_at,
                           deadline))
        found.append(Timer(step, "breach", deadline, deadline))
    return sorted(found, key=lambda t: (t.at, t.kind == "reminder"))
