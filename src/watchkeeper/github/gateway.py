"""What the rest of the app may ask of GitHub, as plain data and a Protocol.

The executor and the config loader depend on this Protocol, not on githubkit, so tests and
dry runs can hand them anything shaped like it. ``GitHubGateway`` (client.py) is the real one.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import datetime
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
class MilestoneView:
    number: int
    title: str
    state: str  # "open" | "closed"
    due_on: datetime | None  # aware UTC; None when the milestone has no due date
    html_url: str = ""

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> MilestoneView:
        due = data.get("due_on")
        return cls(
            number=int(data["number"]),
            title=str(data.get("title") or ""),
            state=str(data.get("state") or "open"),
            due_on=datetime.fromisoformat(str(due).replace("Z", "+00:00")) if due else None,
            html_url=str(data.get("html_url") or ""),
        )


@dataclass(frozen=True, slots=True)
class GitCommit:
    sha: str
    tree: str  # the commit's tree sha
    message: str


@dataclass(frozen=True, slots=True)
class PullView:
    number: int
    state: str  # "open" | "closed"
    merged: bool
    head_ref: str
    head_sha: str
    base_ref: str
    title: str
    body: str
    html_url: str
    author: str  # login of who opened it
    requested_reviewers: tuple[str, ...] = ()
    requested_teams: tuple[str, ...] = ()

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> PullView:
        head, base = data.get("head") or {}, data.get("base") or {}
        return cls(
            number=int(data["number"]),
            state=str(data.get("state") or "open"),
            merged=bool(data.get("merged") or data.get("merged_at")),
            head_ref=str(head.get("ref") or ""),
            head_sha=str(head.get("sha") or ""),
            base_ref=str(base.get("ref") or ""),
            title=str(data.get("title") or ""),
            body=str(data.get("body") or ""),
            html_url=str(data.get("html_url") or ""),
            author=str((data.get("user") or {}).get("login") or ""),
            requested_reviewers=tuple(str(u.get("login")) for u in
                                      data.get("requested_reviewers") or () if u.get("login")),
            requested_teams=tuple(str(t.get("slug")) for t in
                                  data.get("requested_teams") or () if t.get("slug")),
        )


@dataclass(frozen=True, slots=True)
class CommentView:
    id: int
    body: str
    user: str  # login


class Gateway(Protocol):
    def session(self) -> AbstractAsyncContextManager[None]: ...

    async def get_repo(self, installation_id: int, repo: str) -> RepoInfo: ...

    async def get_repo_installation_id(self, repo: str) -> int | None: ...

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

    async def list_milestones(
        self, installation_id: int, repo: str, state: str = "open"
    ) -> list[MilestoneView]: ...

    # --- repository activity (github/activity.py) --------------------------------------

    async def list_pulls(
        self, installation_id: int, repo: str, *, base: str | None = None, state: str = "open"
    ) -> list[dict[str, Any]]: ...

    async def list_workflow_jobs(
        self, installation_id: int, repo: str, run_id: int, attempt: int | None = None
    ) -> list[dict[str, Any]]: ...

    async def compare_commits(
        self, installation_id: int, repo: str, base: str, head: str
    ) -> str | None: ...

    async def find_check_run(
        self, installation_id: int, repo: str, sha: str, name: str
    ) -> int | None: ...

    async def create_check_run(
        self, installation_id: int, repo: str, *, name: str, head_sha: str, conclusion: str,
        title: str, summary: str, external_id: str | None = None,
    ) -> int: ...

    async def update_check_run(
        self, installation_id: int, repo: str, check_run_id: int, *, conclusion: str,
        title: str, summary: str,
    ) -> bool: ...

    # --- the postmortem pull request (github/git_calls.py) -------------------------------

    async def get_branch_sha(self, installation_id: int, repo: str, branch: str
                             ) -> str | None: ...

    async def get_git_commit(self, installation_id: int, repo: str, sha: str
                             ) -> GitCommit: ...

    async def create_tree(self, installation_id: int, repo: str, base_tree: str,
                          files: Mapping[str, str]) -> str: ...

    async def create_commit(self, installation_id: int, repo: str, message: str, tree: str,
                            parents: Sequence[str]) -> str: ...

    async def create_branch(self, installation_id: int, repo: str, branch: str,
                            sha: str) -> None: ...

    async def move_branch(self, installation_id: int, repo: str, branch: str,
                          sha: str) -> None: ...

    async def find_pulls(self, installation_id: int, repo: str, branch: str
                         ) -> list[PullView]: ...

    async def create_pull(self, installation_id: int, repo: str, *, head: str, base: str,
                          title: str, body: str) -> PullView: ...

    async def update_pull(self, installation_id: int, repo: str, number: int, *,
                          title: str | None = None, body: str | None = None,
                          state: str | None = None) -> PullView: ...

    async def request_reviewers(self, installation_id: int, repo: str, number: int,
                                reviewers: Sequence[str], teams: Sequence[str] = ()
                                ) -> bool: ...

    async def get_commit_time(self, installation_id: int, repo: str, sha: str
                              ) -> datetime | None: ...
