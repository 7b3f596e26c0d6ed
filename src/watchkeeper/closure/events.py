"""The two events closing is about, read from raw payloads: an incident issue closed, and
a postmortem pull request merged. Anything unreadable yields None (the handler then does
nothing): these events are about people's work and must never stop the queue.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from watchkeeper.signals.origin import BRANCH_PREFIX
from watchkeeper.signals.payload import (
    MalformedPayload,
    installation_id,
    number,
    opt_flag,
    opt_section,
    opt_text,
    repository,
    section,
    timestamp,
)

POSTMORTEM_PREFIX = f"{BRANCH_PREFIX}postmortem-"
_ID_CHARS = re.compile(r"[^A-Za-z0-9_.-]")
NOT_PLANNED = frozenset({"not_planned", "duplicate"})


def postmortem_branch(incident_id: str) -> str:
    """"watchkeeper/postmortem-INC-2026-0007": one branch per incident, found by name."""
    return POSTMORTEM_PREFIX + _ID_CHARS.sub("", incident_id)[:64]


def incident_id_from_branch(ref: str | None) -> str | None:
    if not ref or not ref.startswith(POSTMORTEM_PREFIX):
        return None
    rest = ref.removeprefix(POSTMORTEM_PREFIX)
    return rest if rest and not _ID_CHARS.search(rest) else None


@dataclass(frozen=True, slots=True)
class IssueClosed:
    repo: str
    number: int
    installation_id: int | None
    actor: str
    at: datetime | None  # the issue's closed_at
    reason: str  # completed | not_planned | duplicate
    labels: tuple[str, ...]
    url: str | None

    @property
    def completed(self) -> bool:
        return self.reason not in NOT_PLANNED


@dataclass(frozen=True, slots=True)
class PullMerged:
    repo: str
    number: int
    installation_id: int | None
    actor: str
    at: datetime | None  # merged_at
    head_ref: str
    head_repo: str | None
    base_ref: str
    merge_sha: str | None
    url: str | None
    author: str | None  # who opened the pull request
    incident_id: str


def issue_closed(payload: Mapping[str, Any]) -> IssueClosed | None:
    if payload.get("action") != "closed":
        return None
    try:
        issue = section(payload, "issue")
        if "pull_request" in issue:
            return None
        repo = repository(payload)
        labels = tuple(str(label.get("name")) for label in issue.get("labels") or ()
                       if isinstance(label, Mapping) and label.get("name"))
        return IssueClosed(
            repo=repo.full_name,
            number=number(issue, "number"),
            installation_id=installation_id(payload),
            actor=opt_text(opt_section(payload, "sender"), "login") or "unknown",
            at=timestamp(issue.get("closed_at")) or timestamp(issue.get("updated_at")),
            reason=opt_text(issue, "state_reason") or "completed",
            labels=labels,
            url=opt_text(issue, "html_url"),
        )
    except MalformedPayload:
        return None


def pull_merged(payload: Mapping[str, Any]) -> PullMerged | None:
    """A merged pull request from a postmortem branch; None for anything else."""
    if payload.get("action") != "closed":
        return None
    try:
        pull = section(payload, "pull_request")
        head, base = opt_section(pull, "head"), opt_section(pull, "base")
        incident_id = incident_id_from_branch(opt_text(head, "ref"))
        if incident_id is None or opt_flag(pull, "merged") is not True:
            return None
        return PullMerged(
            repo=repository(payload).full_name,
            number=number(pull, "number"),
            installation_id=installation_id(payload),
            actor=opt_text(opt_section(payload, "sender"), "login") or "unknown",
            at=timestamp(pull.get("merged_at")),
            head_ref=opt_text(head, "ref") or "",
            head_repo=opt_text(opt_section(head, "repo"), "full_name"),
            base_ref=opt_text(base, "ref") or "",
            merge_sha=opt_text(pull, "merge_commit_sha"),
            url=opt_text(pull, "html_url"),
            author=opt_text(opt_section(pull, "user"), "login"),
            incident_id=incident_id,
        )
    except MalformedPayload:
        return None
