"""Phase milestones: acknowledged, contained, fixed — when each was reached, and how.

A milestone is reached once (the first time counts for the SLA; later unticks do not undo
an audit fact). Reaching a later phase implies the earlier ones not yet reached, at the
same moment: a contained incident was certainly acknowledged. The record's status follows
the latest phase reached.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from watchkeeper.lifecycle.draft import Draft
from watchkeeper.record import MILESTONES, Incident
from watchkeeper.render.checklist import iter_items
from watchkeeper.render.times import duration
from watchkeeper.runbook.model import Config
from watchkeeper.runbook.sla import deadlines_with_fallback

TITLES = {"acknowledged": "Acknowledged", "contained": "Contained", "fixed": "Fixed"}
SLA_STEP = {"acknowledged": "acknowledge", "contained": "contain", "fixed": "fix"}


def milestone_items(config: Config, milestone: str) -> tuple[str, ...]:
    """Keys of the checklist items that together mark `milestone`."""
    return tuple(item.key for _, item in iter_items(config.checklist)
                 if item.milestone == milestone)


def reached_by_checklist(config: Config, done: Collection[str], milestone: str) -> bool:
    keys = milestone_items(config, milestone)
    return bool(keys) and all(key in done for key in keys)


def sla_deadlines(incident: Incident, config: Config) -> dict[str, datetime | None]:
    """The incident's SLA deadlines under its current severity, as the SLA section shows
    them (an unusable calendar falls back to Mon–Fri UTC; "next release" is the due date
    the SLA clock found, if any)."""
    targets = config.sla.get(incident.severity)
    if targets is None:
        return {}
    due, _, _ = deadlines_with_fallback(incident.detected_at, targets, config.calendar,
                                        next_release_due=incident.sla_clock.release_due)
    return due


def verdict(incident: Incident, config: Config, milestone: str, at: datetime) -> str:
    """"met the target (after 12m)" / "missed the target by 3m" / "" (no target)."""
    due = sla_deadlines(incident, config).get(SLA_STEP[milestone])
    if due is None:
        return ""
    if at > due:
        return f"SLA missed by {duration(at - due)}"
    return f"SLA met after {duration(at - incident.detected_at)}"


def reach(draft: Draft, milestone: str, at: datetime, actor: str, how: str, *,
          key: str | None = None, url: str | None = None) -> bool:
    """Record `milestone` (and the earlier ones it implies) as reached at `at`.
    False when it was already reached: nothing changes then."""
    if draft.incident.milestone(milestone) is not None:
        return False
    index = MILESTONES.index(milestone)
    for earlier in MILESTONES[:index]:
        if draft.incident.milestone(earlier) is None:
            _record(draft, earlier, at, actor, f"implied by {TITLES[milestone].lower()}",
                    key, url)
    _record(draft, milestone, at, actor, how, key, url)
    return True


def _record(draft: Draft, milestone: str, at: datetime, actor: str, how: str,
            key: str | None, url: str | None) -> None:
    inc = draft.incident
    inc = inc.replace(milestones=(*inc.milestones, (milestone, at)))
    if inc.status != "closed":
        inc = inc.replace(status=latest_phase(inc))
    draft.incident = inc
    sla = verdict(inc, draft.config, milestone, at)
    draft.log(at, actor, "milestone",
              f"{TITLES[milestone]} ({how})" + (f"; {sla}" if sla else ""),
              key=f"{key}:{milestone}" if key else None, url=url)
    draft.show("sla")


def latest_phase(incident: Incident) -> str:
    reached = [name for name in MILESTONES if incident.milestone(name) is not None]
    return reached[-1] if reached else "open"


def check_checklist(draft: Draft, at: datetime, actor: str) -> None:
    """Reach every milestone whose checklist items are now all ticked."""
    for milestone in MILESTONES:
        if reached_by_checklist(draft.config, draft.incident.checklist_done, milestone):
            reach(draft, milestone, at, actor, "checklist items ticked")
