"""The actions closing adds (performed by github/postmortem_pr.py and followups.py).

They carry everything pre-rendered from the record, so performing them needs no config:
only the files already on the branch are read, and merged with `postmortem.refresh`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from watchkeeper.closure.preventive import Proposal


@dataclass(frozen=True, slots=True)
class PublishPostmortem:
    """Commit the postmortem file and the decision-log entry to the incident's branch in
    one commit, then open (or update, or reopen) its one pull request."""

    incident_id: str
    repo: str  # where the incident is tracked: the branch and pull request go there
    branch: str
    path: str
    document: str  # the whole file, for a first commit
    sections: tuple[tuple[str, str], ...]  # the marked sections, for refreshing a file
    proposals: tuple[Proposal, ...]  # the preventive rows, to keep filled-in cells
    decision_log: str  # its path
    decisions: str | None  # the incident's decision-log section; None: no decisions
    decision_section: str  # that section's marker name
    message: str  # the commit message
    title: str  # the pull request's
    body: str
    reviewers: tuple[str, ...]  # logins
    team_reviewers: tuple[str, ...]  # team slugs in the repository's organisation
    at: datetime  # when it was decided (timeline entries)
    done_key: str  # marked done on the record once performed


@dataclass(frozen=True, slots=True)
class CreateFollowUp:
    """Open the follow-up issue for one preventive action, unless one carries `marker`."""

    incident_id: str
    repo: str
    key: str  # the preventive action's key (the record's FollowUp.key)
    title: str
    body: str
    labels: tuple[str, ...]
    assignees: tuple[str, ...]
    marker: str
    at: datetime
