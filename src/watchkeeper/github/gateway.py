"""What the rest of the app may ask of GitHub, as plain data and a Protocol.

The executor and the config loader depend on this Protocol, not on githubkit, so tests and
dry runs can hand them anything shaped like it. ``GitHubGateway`` (client.py) is the real one.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Any, Protocol

from watchkeeper.actions import LabelSpec


@dataclass(frozen=True, slots=True)
class RepoInfo:
    default_branch: str
    private: bool


@dataclass(frozen=True, slots=True)
class IssueView:
    number: int
    title: str
    body: str  # GitHub sends null for an empty body; "" here
    state: str  # "open" | "closed"
    state_reason: str | None
    labels: tuple[str, ...]
    assignees: tuple[str, ...]
    html_url: str = ""

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> IssueView:
        """From GitHub's raw issue JSON (raw, because typed models drop or reject fields)."""
        return cls(
            number=int(data["number"]),
            title=str(data.get("title") or ""),
            body=str(data.get("body") or ""),
            state=str(data.get("state") or "open"),
            state_reason=data.get("state_reason"),
            labels=tuple(
                str(label["name"] if isinstance(label, Mapping) else label)
                for label in data.get("labels") or ()
            ),
            assignees=tuple(str(user["login"]) for user in data.get("assignees") or ()),
            html_url=str(data.get("html_url") or ""),
        )


@dataclass(frozen=True, slots=True)
class CommentView:
    id: int
    body: str
    user: str  # login


class Gateway(Protocol):
    def session(self) -> AbstractAsyncContextManager[None]: ...

    async def get_repo(self, installation_id: int, repo: str) -> RepoInfo: ...

    async def get_file_text(
        self, installation_id: int, repo: str, path: str, ref: str | None = None
    ) -> str | None: ...

    async def get_issue(self, installation_id: int, repo: str, number: int) -> IssueView: ...

    async def list_issues_with_label(
        self, installation_id: int, repo: str, label: str, state: str = "all"
    ) -> list[IssueView]: ...

    async def create_issue(
        self,
        installation_id: int,
        repo: str,
        title: str,
        body: str,
        labels: Sequence[str] = (),
        assignees: Sequence[str] = (),
    ) -> int: ...

    async def update_issue(
        self,
        installation_id: int,
        repo: str,
        number: int,
        *,
        title: str | None = None,
        body: str | None = None,
        state: str | None = None,
        state_reason: str | None = None,
        labels: Sequence[str] | None = None,
        assignees: Sequence[str] | None = None,
    ) -> None: ...

    async def add_labels(
        self, installation_id: int, repo: str, number: int, labels: Sequence[str]
    ) -> None: ...

    async def remove_label(
        self, installation_id: int, repo: str, number: int, label: str
    ) -> None: ...

    async def ensure_labels(
        self, installation_id: int, repo: str, specs: Sequence[LabelSpec]
    ) -> tuple[str, ...]: ...

    async def create_comment(
        self, installation_id: int, repo: str, number: int, body: str
    ) -> int: ...

    async def list_comments(
        self, installation_id: int, repo: str, number: int
    ) -> list[CommentView]: ...

    async def get_permission(self, installation_id: int, repo: str, username: str) -> str: ...
