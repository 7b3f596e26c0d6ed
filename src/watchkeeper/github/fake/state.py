"""The fake GitHub's memory: repositories, issues, labels, branches, pull requests.

Mutable on purpose (it is a stand-in for a server's database). Files live in commit
snapshots so branches, refs and pull-request merges behave like Git's: a branch points at a
commit, a commit is a full snapshot of path -> text.
"""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

EventSink = Callable[[str, dict[str, Any]], None]


@dataclass(frozen=True, slots=True)
class Actor:
    login: str
    type: str = "User"  # "User" | "Bot"


@dataclass
class Label:
    id: int
    name: str
    color: str = "ededed"
    description: str | None = None


@dataclass
class Comment:
    id: int
    body: str
    user: Actor
    created_at: datetime
    updated_at: datetime
    via_app: bool = False


@dataclass
class Pull:
    head: str
    base: str
    head_sha: str
    base_sha: str
    draft: bool = False
    merged: bool = False
    merged_at: datetime | None = None
    merge_sha: str | None = None
    requested_reviewers: list[str] = field(default_factory=list)  # logins
    requested_teams: list[str] = field(default_factory=list)  # team slugs


@dataclass
class Issue:
    """An issue, or a pull request when ``pull`` is set (they share GitHub's numbering)."""

    id: int
    number: int
    title: str
    body: str | None
    user: Actor
    created_at: datetime
    updated_at: datetime
    state: str = "open"
    state_reason: str | None = None
    closed_at: datetime | None = None
    labels: list[str] = field(default_factory=list)  # names, in the order added
    assignees: list[str] = field(default_factory=list)
    comments: list[Comment] = field(default_factory=list)
    via_app: bool = False
    pull: Pull | None = None


@dataclass
class Installation:
    id: int
    account: str
    suspended: bool = False


@dataclass
class Repo:
    id: int
    owner: str
    name: str
    installation_id: int
    private: bool = True
    default_branch: str = "main"
    branches: dict[str, str] = field(default_factory=dict)  # branch -> commit sha
    commits: dict[str, dict[str, str]] = field(default_factory=dict)  # sha -> path -> text
    labels: dict[str, Label] = field(default_factory=dict)  # lower-case name -> label
    issues: dict[int, Issue] = field(default_factory=dict)
    permissions: dict[str, tuple[str, str]] = field(default_factory=dict)  # login -> (perm, role)
    check_runs: dict[int, dict[str, Any]] = field(default_factory=dict)
    workflow_jobs: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    milestones: list[dict[str, Any]] = field(default_factory=list)
    parents: dict[str, tuple[str, ...]] = field(default_factory=dict)  # commit -> its parents
    # Git data: tree sha -> snapshot; commit sha -> message and time (when known).
    trees: dict[str, dict[str, str]] = field(default_factory=dict)
    commit_meta: dict[str, dict[str, Any]] = field(default_factory=dict)
    # Security alerts by kind ("code-scanning", "secret-scanning", "dependabot"; a kind
    # missing: the feature is not enabled) and workflow runs, as REST lists them.
    alerts: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    workflow_runs: list[dict[str, Any]] = field(default_factory=list)
    next_number: int = 1

    @property
    def full_name(self) -> str:
        return f"{self.owner}/{self.name}"

    def files(self, branch: str | None = None) -> dict[str, str]:
        sha = self.branches.get(branch or self.default_branch)
        return self.commits.get(sha, {}) if sha else {}

    def label(self, name: str) -> Label | None:
        return self.labels.get(name.lower())


def blob_sha(text: str) -> str:
    """Git's blob id for the text, so "sha" fields look and behave like GitHub's."""
    data = text.encode("utf-8")
    return hashlib.sha1(b"blob %d\0" % len(data) + data, usedforsecurity=False).hexdigest()


class World:
    """Everything the fake knows, plus the counters that hand out GitHub-like ids."""

    def __init__(self, *, app_id: int, app_slug: str, clock: Callable[[], datetime],
                 api_url: str, web_url: str) -> None:
        self.app_id = app_id
        self.app_slug = app_slug
        self.now = clock
        self.api_url = api_url.rstrip("/")
        self.web_url = web_url.rstrip("/")
        self.installations: dict[int, Installation] = {}
        self.repos: dict[str, Repo] = {}  # lower-case full name -> repo
        self.user_ids: dict[str, int] = {}
        self.on_event: EventSink | None = None
        self._ids = itertools.count(1001)
        self._commits = itertools.count(1)

    @property
    def bot(self) -> Actor:
        return Actor(f"{self.app_slug}[bot]", "Bot")

    def next_id(self) -> int:
        return next(self._ids)

    def user_id(self, login: str) -> int:
        return self.user_ids.setdefault(login.lower(), 5000 + len(self.user_ids))

    def repo(self, full_name: str) -> Repo:
        try:
            return self.repos[full_name.lower()]
        except KeyError:
            raise KeyError(f"no such repository in the fake: {full_name}") from None

    def commit(self, repo: Repo, files: dict[str, str], branch: str | None = None,
               parents: tuple[str, ...] | None = None) -> str:
        """Store a snapshot as a new commit; move ``branch`` to it when given. Its parents
        default to the branch's previous commit (compare and ancestry use them)."""
        sha = hashlib.sha1(
            f"{repo.full_name}:{next(self._commits)}".encode(), usedforsecurity=False
        ).hexdigest()
        repo.commits[sha] = dict(files)
        if parents is None:
            previous = repo.branches.get(branch) if branch is not None else None
            parents = (previous,) if previous else ()
        repo.parents[sha] = parents
        repo.commit_meta[sha] = {"date": self.now(), "message": ""}
        if branch is not None:
            repo.branches[branch] = sha
        return sha

    def emit(self, event: str, payload: dict[str, Any]) -> None:
        if self.on_event is not None:
            self.on_event(event, payload)
