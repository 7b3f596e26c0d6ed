"""What the record keeps about closing an incident (part of the stored Incident).

Kept apart from record.py so that closing has one place to grow; record.py only holds
the field. Everything here is also reconstructible from GitHub (the postmortem branch
name is derived from the incident ID, follow-up issues carry hidden markers).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

# The Definition of Done, in the runbook's order (render/sections.py holds the wording).
DOD_KEYS: tuple[str, ...] = ("containment_verified", "fix_deployed", "communication_done",
                             "postmortem_published")


@dataclass(frozen=True, slots=True)
class DodItem:
    key: str  # one of DOD_KEYS
    met: bool
    detail: str = ""  # raw text: how it was met, or what is missing


@dataclass(frozen=True, slots=True)
class FollowUp:
    """A preventive action from the merged postmortem, tracked as an issue."""

    key: str  # the row's stable key in the Preventive Actions table
    title: str  # raw
    owner: str  # login or "org/team", without "@"
    due: str  # YYYY-MM-DD
    repo: str
    number: int | None = None
    url: str | None = None


@dataclass(frozen=True, slots=True)
class Closure:
    reason: str | None = None  # state_reason of the latest close: completed, not_planned, ...
    closed_by: str | None = None
    issue_url: str | None = None  # the incident issue's web address (for files and PRs)
    dod: tuple[DodItem, ...] = ()  # the latest evaluation; empty: never evaluated
    evaluated_at: datetime | None = None
    # The offending commit's time (for the detection lag), when it could be learnt.
    commit_time: datetime | None = None
    postmortem_repo: str | None = None
    postmortem_branch: str | None = None
    postmortem_path: str | None = None
    postmortem_pr: int | None = None
    postmortem_url: str | None = None
    published_at: datetime | None = None  # the postmortem pull request was merged
    followups: tuple[FollowUp, ...] = ()

    def unmet(self) -> tuple[DodItem, ...]:
        return tuple(item for item in self.dod if not item.met)
