"""What responders did in an incident issue, read from `issues` and `issue_comment` payloads.

Only the fields the decisions need are kept, as frozen data. A payload this module cannot
read yields None (the handler then does nothing): these events are about people's work, and
an odd payload must never stop the queue.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from watchkeeper.signals.payload import (
    MalformedPayload,
    installation_id,
    number,
    opt_number,
    opt_section,
    opt_text,
    repository,
    section,
    timestamp,
)

ISSUE_ACTIONS = frozenset({"edited", "labeled", "unlabeled", "assigned", "unassigned"})
COMMENT_ACTIONS = frozenset({"created", "edited"})


@dataclass(frozen=True, slots=True)
class IssueState:
    """The issue as the payload shows it, after the change."""

    repo: str  # "owner/name"
    number: int
    body: str
    labels: tuple[str, ...]
    assignees: tuple[str, ...]
    installation_id: int | None


@dataclass(frozen=True, slots=True)
class IssueEvent:
    action: str  # one of ISSUE_ACTIONS
    issue: IssueState
    actor: str  # the sender's login
    actor_type: str  # "User" | "Bot" | "Organization"
    at: datetime | None  # the issue's updated_at: when the change happened
    body_from: str | None = None  # edited: the body before, when the payload says
    label: str | None = None  # labeled / unlabeled
    assignee: str | None = None  # assigned / unassigned


@dataclass(frozen=True, slots=True)
class CommentEvent:
    action: str  # one of COMMENT_ACTIONS
    issue: IssueState
    comment_id: int
    body: str
    actor: str
    actor_type: str
    at: datetime | None  # created_at (created) or updated_at (edited)
    url: str | None = None
    body_from: str | None = None  # edited: the body before


def _login(data: Mapping[str, Any] | None) -> str | None:
    return opt_text(data, "login")


def _issue_state(payload: Mapping[str, Any]) -> IssueState:
    issue = section(payload, "issue")
    labels = tuple(
        str(label.get("name")) for label in issue.get("labels") or ()
        if isinstance(label, Mapping) and isinstance(label.get("name"), str)
    )
    assignees = tuple(
        login for user in issue.get("assignees") or ()
        if isinstance(user, Mapping) and (login := _login(user))
    )
    body = issue.get("body")
    return IssueState(
        repo=repository(payload).full_name,
        number=number(issue, "number"),
        body=body if isinstance(body, str) else "",
        labels=labels,
        assignees=assignees,
        installation_id=installation_id(payload),
    )


def _sender(payload: Mapping[str, Any]) -> tuple[str, str] | None:
    sender = opt_section(payload, "sender")
    login = _login(sender)
    return (login, opt_text(sender, "type") or "User") if login else None


def _body_from(payload: Mapping[str, Any]) -> str | None:
    change = opt_section(opt_section(payload, "changes"), "body")
    value = change.get("from") if "from" in change else None
    return value if isinstance(value, str) else ("" if "from" in change else None)


def parse_issues(payload: Mapping[str, Any]) -> IssueEvent | None:
    """An `issues` event this feature acts on, or None (other actions, pull requests,
    unreadable payloads)."""
    action = payload.get("action")
    if action not in ISSUE_ACTIONS or "pull_request" in opt_section(payload, "issue"):
        return None
    try:
        state = _issue_state(payload)
    except MalformedPayload:
        return None
    sender = _sender(payload)
    if sender is None:
        return None
    return IssueEvent(
        action=str(action),
        issue=state,
        actor=sender[0],
        actor_type=sender[1],
        at=timestamp(opt_section(payload, "issue").get("updated_at")),
        body_from=_body_from(payload) if action == "edited" else None,
        label=opt_text(opt_section(payload, "label"), "name"),
        assignee=_login(opt_section(payload, "assignee")),
    )


def parse_issue_comment(payload: Mapping[str, Any]) -> CommentEvent | None:
    """A comment created or edited on an issue (not a pull request), or None."""
    action = payload.get("action")
    issue = opt_section(payload, "issue")
    if action not in COMMENT_ACTIONS or "pull_request" in issue:
        return None
    comment = opt_section(payload, "comment")
    comment_id = opt_number(comment, "id")
    sender = _sender(payload)
    if comment_id is None or sender is None:
        return None
    try:
        state = _issue_state(payload)
    except MalformedPayload:
        return None
    body = comment.get("body")
    when = comment.get("created_at" if action == "created" else "updated_at")
    return CommentEvent(
        action=str(action),
        issue=state,
        comment_id=comment_id,
        body=body if isinstance(body, str) else "",
        actor=sender[0],
        actor_type=sender[1],
        at=timestamp(when) or timestamp(comment.get("created_at")),
        url=opt_text(comment, "html_url"),
        body_from=_body_from(payload) if action == "edited" else None,
    )
