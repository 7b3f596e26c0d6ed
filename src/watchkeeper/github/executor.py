"""Perform the decision's actions on GitHub, idempotently, so a retried delivery is harmless.

``first_attempt=False`` means an earlier try may have got part of the way: a create might
have succeeded even though its answer was lost (a 502 after the issue was written). So a
retried ``OpenIssue`` first looks for an issue carrying its hidden marker (listing by label,
which is consistent; the search API is not), and a retried ``Comment`` looks for its key.

New action types plug in with ``Executor.register(ActionType, handler)``. The dry-run
``PlanningExecutor`` lives in planning.py and is re-exported here.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from watchkeeper.actions import (
    Action,
    AddLabels,
    Comment,
    EnsureLabels,
    OpenIssue,
    RemoveLabels,
    SetAssignees,
    SetIssueState,
    UpdateIssueSections,
)
from watchkeeper.errors import PermanentError, RetryableError
from watchkeeper.github.failures import NotFoundError
from watchkeeper.github.gateway import Gateway
from watchkeeper.github.planning import PlannedCall, PlanningExecutor, targets_issue
from watchkeeper.record import Incident
from watchkeeper.render.markers import splice

__all__ = ["Executor", "PlannedCall", "PlanningExecutor", "comment_marker"]

log = logging.getLogger("watchkeeper.github.executor")

# (incident, action, first_attempt) -> the incident, possibly with new facts (issue number)
ActionHandler = Callable[[Incident, Any, bool], Awaitable[Incident]]

_KEY_UNSAFE = re.compile(r"[^A-Za-z0-9_.:/-]")
# A just-created issue can briefly 404 (reads lag writes): retry the delivery after this long.
FRESH_ISSUE_WAIT = 5.0


def comment_marker(key: str) -> str:
    """The hidden marker a keyed comment carries; the key is made safe inside a comment."""
    safe = re.sub(r"-{2,}", "-", _KEY_UNSAFE.sub("_", key))[:200]
    return f"<!-- watchkeeper:comment {safe} -->"


def marker_label(labels: Sequence[str], preferred: str) -> str | None:
    """The label to list candidate issues by: the preferred one when the issue gets it."""
    lowered = [name.lower() for name in labels]
    if preferred.lower() in lowered:
        return preferred
    return labels[0] if labels else None


class Executor:
    def __init__(self, gateway: Gateway, *, incident_label: str = "incident") -> None:
        self.gateway = gateway
        self.incident_label = incident_label
        self._handlers: dict[type, ActionHandler] = {
            EnsureLabels: self._ensure_labels,
            OpenIssue: self._open_issue,
            UpdateIssueSections: self._update_sections,
            SetIssueState: self._set_state,
            AddLabels: self._add_labels,
            RemoveLabels: self._remove_labels,
            SetAssignees: self._set_assignees,
            Comment: self._comment,
        }

    def register(self, action_type: type, handler: ActionHandler) -> None:
        """Teach the executor a new action type (or replace how one is performed)."""
        self._handlers[action_type] = handler

    async def execute(
        self, incident: Incident, actions: Sequence[Action | object], *, first_attempt: bool
    ) -> Incident:
        opened_now = False
        for action in actions:
            handler = self._handlers.get(type(action))
            if handler is None:
                raise PermanentError(f"no way to perform {type(action).__name__}")
            if targets_issue(action) and incident.issue_number is None:
                log.warning("skipping %s: incident %s has no issue yet",
                            type(action).__name__, incident.id)
                continue
            try:
                done = await handler(incident, action, first_attempt)
            except NotFoundError as exc:
                if opened_now:  # read-after-write lag on a fresh issue: worth another try
                    raise RetryableError(f"{exc} (the issue was just opened)",
                                         retry_after=FRESH_ISSUE_WAIT) from exc
                raise
            opened_now = opened_now or (incident.issue_number is None
                                        and done.issue_number is not None)
            incident = done
        return incident

    # --- handlers ---------------------------------------------------------------------

    async def _ensure_labels(self, incident: Incident, action: EnsureLabels,
                             first_attempt: bool) -> Incident:
        created = await self.gateway.ensure_labels(_installation(incident), action.repo,
                                                   action.labels)
        if created:
            log.info("created labels %s in %s", ", ".join(created), action.repo)
        return incident

    async def _open_issue(self, incident: Incident, action: OpenIssue,
                          first_attempt: bool) -> Incident:
        if incident.issue_number is not None:
            return incident
        installation = _installation(incident)
        if not first_attempt:
            found = await self._find_issue(installation, action)
            if found is not None:
                log.info("found issue #%d of incident %s by its marker", found, incident.id)
                return incident.replace(issue_number=found)
        number = await self.gateway.create_issue(
            installation, action.repo, action.title, action.body,
            labels=action.labels, assignees=action.assignees,
        )
        log.info("opened issue #%d in %s for incident %s", number, action.repo, incident.id)
        return incident.replace(issue_number=number)

    async def _find_issue(self, installation: int, action: OpenIssue) -> int | None:
        label = marker_label(action.labels, self.incident_label)
        if label is None:
            return None  # an issue without labels cannot be listed cheaply: create
        issues = await self.gateway.list_issues_with_label(installation, action.repo, label)
        matches = [issue.number for issue in issues if action.marker in issue.body]
        return min(matches) if matches else None

    async def _update_sections(self, incident: Incident, action: UpdateIssueSections,
                               first_attempt: bool) -> Incident:
        installation, number = _installation(incident), _number(incident)
        backlog = getattr(self.gateway, "write_backlog", None)
        if action.deferrable and backlog is not None and backlog(installation) > 0:
            names = {name for name, _ in action.sections} | set(incident.stale_sections)
            return incident.replace(stale_sections=tuple(sorted(names)))
        current = await self.gateway.get_issue(installation, action.repo, number)
        body = splice(current.body, dict(action.sections))
        title = action.title if action.title is not None and action.title != current.title \
            else None
        if body == current.body and title is None:
            return incident
        await self.gateway.update_issue(
            installation, action.repo, number, title=title,
            body=body if body != current.body else None,
        )
        return incident

    async def _set_state(self, incident: Incident, action: SetIssueState,
                         first_attempt: bool) -> Incident:
        await self.gateway.update_issue(
            _installation(incident), action.repo, _number(incident),
            state=action.state, state_reason=action.state_reason,
        )
        return incident

    async def _add_labels(self, incident: Incident, action: AddLabels,
                          first_attempt: bool) -> Incident:
        await self.gateway.add_labels(_installation(incident), action.repo, _number(incident),
                                      action.labels)
        return incident

    async def _remove_labels(self, incident: Incident, action: RemoveLabels,
                             first_attempt: bool) -> Incident:
        for label in action.labels:
            await self.gateway.remove_label(_installation(incident), action.repo,
                                            _number(incident), label)
        return incident

    async def _set_assignees(self, incident: Incident, action: SetAssignees,
                             first_attempt: bool) -> Incident:
        await self.gateway.update_issue(_installation(incident), action.repo, _number(incident),
                                        assignees=action.assignees)
        return incident

    async def _comment(self, incident: Incident, action: Comment,
                       first_attempt: bool) -> Incident:
        installation, number = _installation(incident), _number(incident)
        marker = comment_marker(action.key)
        if not first_attempt:
            comments = await self.gateway.list_comments(installation, action.repo, number)
            if any(marker in comment.body for comment in comments):
                log.info("comment %s already posted on #%d", action.key, number)
                return incident
        await self.gateway.create_comment(installation, action.repo, number,
                                          f"{action.body}\n\n{marker}")
        return incident


def _installation(incident: Incident) -> int:
    if incident.installation_id is None:
        raise PermanentError(f"incident {incident.id} has no installation to act through")
    return incident.installation_id


def _number(incident: Incident) -> int:
    assert incident.issue_number is not None  # checked by execute()
    return incident.issue_number
