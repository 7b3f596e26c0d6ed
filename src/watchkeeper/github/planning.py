"""The dry run behind ``watchkeeper simulate``: the executor's interface, no GitHub calls.

Each action becomes the REST call(s) the real executor would make, as readable lines. Reads
the real executor does first (is the body unchanged? was the comment posted?) cannot happen
here, so the plan shows every write that might be needed.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
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
from watchkeeper.errors import PermanentError
from watchkeeper.record import Incident


def targets_issue(action: object) -> bool:
    """Actions about an incident's issue need its number; OpenIssue is what creates it."""
    return hasattr(action, "incident_id") and not isinstance(action, OpenIssue)


@dataclass(frozen=True, slots=True)
class PlannedCall:
    method: str
    path: str
    summary: str

    def __str__(self) -> str:
        return f"{self.method} {self.path}  {self.summary}"


Describe = Callable[[Incident, Any], Sequence[PlannedCall]]


def _short(text: str, limit: int = 72) -> str:
    line = " ".join(text.split())
    return repr(line if len(line) <= limit else line[: limit - 1] + "…")


def _issue_path(action: Any, incident: Incident, tail: str = "") -> str:
    return f"/repos/{action.repo}/issues/{incident.issue_number}{tail}"


_DESCRIBE: dict[type, Describe] = {
    EnsureLabels: lambda inc, a: [PlannedCall(
        "POST", f"/repos/{a.repo}/labels",
        "create any missing label of: " + ", ".join(lb.name for lb in a.labels))],
    UpdateIssueSections: lambda inc, a: [PlannedCall(
        "PATCH", _issue_path(a, inc),
        "rewrite sections " + ", ".join(name for name, _ in a.sections)
        + (f"; title {_short(a.title)}" if a.title is not None else "") + " (if changed)")],
    SetIssueState: lambda inc, a: [PlannedCall(
        "PATCH", _issue_path(a, inc),
        f"state {a.state}" + (f" ({a.state_reason})" if a.state_reason else ""))],
    AddLabels: lambda inc, a: [PlannedCall(
        "POST", _issue_path(a, inc, "/labels"), "add labels " + ", ".join(a.labels))],
    RemoveLabels: lambda inc, a: [
        PlannedCall("DELETE", _issue_path(a, inc, f"/labels/{name}"), f"remove label {name}")
        for name in a.labels],
    SetAssignees: lambda inc, a: [PlannedCall(
        "PATCH", _issue_path(a, inc), "assignees " + (", ".join(a.assignees) or "(none)"))],
    Comment: lambda inc, a: [PlannedCall(
        "POST", _issue_path(a, inc, "/comments"), f"comment [{a.key}] {_short(a.body)}")],
}


class PlanningExecutor:
    """The executor for ``simulate``: same interface, records the calls it would make."""

    def __init__(self, *, first_issue_number: int = 1) -> None:
        self.planned: list[PlannedCall] = []
        self._next_number = first_issue_number
        self._describe = dict(_DESCRIBE)

    def register(self, action_type: type, describe: Describe) -> None:
        self._describe[action_type] = describe

    def lines(self) -> list[str]:
        return [str(call) for call in self.planned]

    async def execute(
        self, incident: Incident, actions: Sequence[Action | object], *, first_attempt: bool
    ) -> Incident:
        for action in actions:
            if isinstance(action, OpenIssue):
                incident = self._open_issue(incident, action)
                continue
            describe = self._describe.get(type(action))
            if describe is None:
                raise PermanentError(f"no way to plan {type(action).__name__}")
            if targets_issue(action) and incident.issue_number is None:
                continue
            self.planned.extend(describe(incident, action))
        return incident

    def _open_issue(self, incident: Incident, action: OpenIssue) -> Incident:
        if incident.issue_number is not None:
            return incident
        number, self._next_number = self._next_number, self._next_number + 1
        self.planned.append(PlannedCall(
            "POST", f"/repos/{action.repo}/issues",
            f"open issue {_short(action.title)} labels [{', '.join(action.labels)}]"
            f" -> #{number} (planned)"))
        return incident.replace(issue_number=number)
