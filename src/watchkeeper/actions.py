"""Actions are data: what the decision wants done on GitHub.

The executor (github/executor.py) performs them idempotently; a dry run
(`watchkeeper simulate`) prints them instead. Nothing here does I/O.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, Protocol


@dataclass(frozen=True, slots=True)
class LabelSpec:
    name: str
    color: str  # six hex digits, no '#'
    description: str


@dataclass(frozen=True, slots=True)
class EnsureLabels:
    """Create any of these labels that the repository does not have yet."""

    repo: str  # "owner/name"
    labels: tuple[LabelSpec, ...]


@dataclass(frozen=True, slots=True)
class OpenIssue:
    """Open the incident issue unless one carrying `marker` already exists."""

    incident_id: str
    repo: str
    title: str
    body: str
    labels: tuple[str, ...]
    marker: str  # hidden HTML comment that identifies the incident's issue
    assignees: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class UpdateIssueSections:
    """Rewrite only the app-owned sections of the issue body (re-read before write)."""

    incident_id: str
    repo: str
    sections: tuple[tuple[str, str], ...]  # (section name, rendered markdown)
    title: str | None = None
    # May wait: while other writes queue for the installation, the executor marks the
    # sections stale instead (the refresh pass shows them later).
    deferrable: bool = False


@dataclass(frozen=True, slots=True)
class SetIssueState:
    incident_id: str
    repo: str
    state: str  # "open" | "closed"
    state_reason: str | None = None


@dataclass(frozen=True, slots=True)
class AddLabels:
    incident_id: str
    repo: str
    labels: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class RemoveLabels:
    incident_id: str
    repo: str
    labels: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class SetAssignees:
    incident_id: str
    repo: str
    assignees: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Comment:
    """Post a comment once: `key` makes a retried action find the comment it posted."""

    incident_id: str
    repo: str
    body: str
    key: str


Action = (
    EnsureLabels
    | OpenIssue
    | UpdateIssueSections
    | SetIssueState
    | AddLabels
    | RemoveLabels
    | SetAssignees
    | Comment
)


class AnyAction(Protocol):
    """Any action a decision plans: one of `Action`, or one a feature defines as a
    dataclass and registers with the executor (notifications, postmortems, ...)."""

    __dataclass_fields__: ClassVar[dict[str, Any]]
