"""``GitHubGateway``: the REST calls Watchkeeper makes, answered as plain data.

Raw JSON is the truth (typed models reject some real payloads and drop undeclared fields), every
repository name is checked before it reaches a URL (config files name tracker repositories),
and failures arrive as ``RetryableError`` / ``PermanentError`` (see failures.py).
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import quote

import httpx

from watchkeeper.actions import LabelSpec
from watchkeeper.errors import PermanentError
from watchkeeper.github.activity import ActivityCalls
from watchkeeper.github.auth import AppCredentials
from watchkeeper.github.failures import failure_for
from watchkeeper.github.gateway import CommentView, IssueView, MilestoneView, RepoInfo
from watchkeeper.github.git_calls import GitCalls
from watchkeeper.github.requester import Requester
from watchkeeper.github.security_calls import SecurityCalls

_REPO = re.compile(r"[A-Za-z0-9_.-]{1,100}/[A-Za-z0-9_.-]{1,100}")
_LOGIN = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})(?:\[bot\])?")
_BUILT_IN_ROLES = frozenset({"admin", "maintain", "write", "triage", "read"})


def repo_path(repo: str) -> str:
    """``/repos/owner/name`` for a well-formed "owner/name"; anything else is refused."""
    if not _REPO.fullmatch(repo) or ".." in repo:
        raise PermanentError(f"not a repository name: {repo[:100]!r}")
    return f"/repos/{repo}"


def _already_exists(response: httpx.Response) -> bool:
    try:
        errors = response.json().get("errors") or []
    except (ValueError, AttributeError):
        return False
    return any(isinstance(e, dict) and e.get("code") == "already_exists" for e in errors)


class GitHubGateway(ActivityCalls, GitCalls, SecurityCalls):
    """The app's view of GitHub. ``transport`` is for the fake (tests, demo, simulate); the
    per-call HTTP clients close it when they finish, so pass only transports that tolerate it.
    """

    def __init__(
        self,
        app_id: int | str,
        private_key: str,
        api_url: str = "https://api.github.com",
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        mutation_interval: float = 1.0,
        timeout: float = 30.0,
        sleep: Callable[[float], Awaitable[None]] | None = None,
        wall_clock: Callable[[], float] | None = None,
        monotonic: Callable[[], float] | None = None,
        on_call: Callable[[str, int], None] | None = None,
    ) -> None:
        """``on_call(method, status)`` sees every API response (status 0: none arrived);
        ``sleep``, ``wall_clock`` and ``monotonic`` let tests pace and time without waiting."""
        self.credentials = AppCredentials(app_id, private_key)
        given = {"sleep": sleep, "wall_clock": wall_clock, "monotonic": monotonic}
        extra: dict[str, Any] = {k: v for k, v in given.items() if v is not None}
        self._http = Requester(
            self.credentials, api_url, transport=transport,
            mutation_interval=mutation_interval, timeout=timeout, on_call=on_call, **extra,
        )
        self._labels: dict[str, set[str]] = {}  # repo -> known label names (lower case)

    def __repr__(self) -> str:
        return f"GitHubGateway(app_id={self.credentials.app_id!r}, api_url={self.api_url!r})"

    @property
    def api_url(self) -> str:
        return str(self._http.api_url)

    @asynccontextmanager
    async def session(self) -> AsyncIterator[None]:
        """Keep HTTP connections open for this task's calls; enter it inside the worker task
        (githubkit binds its clients per task through a ContextVar). Calls outside a session
        still work."""
        async with self._http.session():
            yield

    def rate_limit_remaining(self, installation_id: int) -> int | None:
        """The last ``x-ratelimit-remaining`` GitHub reported for the installation."""
        return self._http.rate_limit_remaining.get(installation_id)

    def write_backlog(self, installation_id: int) -> int:
        """How many writes for the installation wait for their turn (pacing): work that can
        wait (a coalesced refresh) yields to work that cannot when this is not 0."""
        return self._http.write_backlog(installation_id)

    def rate_limits(self) -> dict[int, int]:
        """installation ID -> last seen ``x-ratelimit-remaining`` (for a metrics gauge)."""
        return dict(self._http.rate_limit_remaining)

    async def _json(
        self, installation_id: int | None, method: str, url: str, **kwargs: Any
    ) -> Any:
        """The response's JSON; None for an empty body or a tolerated error status."""
        response = await self._http.request(installation_id, method, url, **kwargs)
        if response.is_error or response.status_code == 204 or not response.content:
            return None
        return response.json()

    # --- the app itself (JWT) ---------------------------------------------------------

    async def get_app_slug(self) -> str:
        """The app's slug: its own events come from "<slug>[bot]"."""
        data = await self._json(None, "GET", "/app")
        return str(data["slug"])

    async def get_repo_installation_id(self, repo: str) -> int | None:
        """The installation covering the repository, or None when the app is not installed."""
        data = await self._json(None, "GET", f"{repo_path(repo)}/installation", tolerate=(404,))
        return int(data["id"]) if isinstance(data, dict) else None

    # --- repository -------------------------------------------------------------------

    async def get_repo(self, installation_id: int, repo: str) -> RepoInfo:
        data = await self._json(installation_id, "GET", repo_path(repo))
        return RepoInfo(default_branch=str(data["default_branch"]), private=bool(data["private"]))

    async def get_file_text(
        self, installation_id: int, repo: str, path: str, ref: str | None = None
    ) -> str | None:
        """A text file's content, or None when it (or the repository) does not exist."""
        if path.startswith("/") or ".." in path.split("/"):
            raise PermanentError(f"not a repository file path: {path[:100]!r}")
        url = f"{repo_path(repo)}/contents/{quote(path, safe='/')}"
        data = await self._json(
            installation_id, "GET", url, params={"ref": ref} if ref else None, tolerate=(404,)
        )
        if not isinstance(data, dict) or data.get("type", "file") != "file":
            return None
        if data.get("encoding") != "base64":  # files over 1 MB come without content
            return None
        try:
            return base64.b64decode(data.get("content") or "").decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return None

    # --- issues -----------------------------------------------------------------------

    async def get_issue(self, installation_id: int, repo: str, number: int) -> IssueView:
        data = await self._json(installation_id, "GET", f"{repo_path(repo)}/issues/{int(number)}")
        return IssueView.from_json(data)

    async def list_issues_with_label(
        self, installation_id: int, repo: str, label: str, state: str = "all"
    ) -> list[IssueView]:
        """Issues (not pull requests) carrying the label; consistent, unlike the search API."""
        items = await self._http.paginate(
            installation_id, f"{repo_path(repo)}/issues", {"labels": label, "state": state}
        )
        return [IssueView.from_json(item) for item in items if "pull_request" not in item]

    async def create_issue(
        self,
        installation_id: int,
        repo: str,
        title: str,
        body: str,
        labels: Sequence[str] = (),
        assignees: Sequence[str] = (),
    ) -> int:
        payload: dict[str, Any] = {"title": title, "body": body}
        if labels:
            payload["labels"] = list(labels)
        if assignees:
            payload["assignees"] = list(assignees)
        data = await self._json(installation_id, "POST", f"{repo_path(repo)}/issues", json=payload)
        return int(data["number"])

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
    ) -> None:
        """PATCH only the fields given; ``labels``/``assignees`` replace the whole set."""
        payload: dict[str, Any] = {
            key: value
            for key, value in (("title", title), ("body", body), ("state", state),
                               ("state_reason", state_reason))
            if value is not None
        }
        if labels is not None:
            payload["labels"] = list(labels)
        if assignees is not None:
            payload["assignees"] = list(assignees)
        if payload:
            await self._json(installation_id, "PATCH", f"{repo_path(repo)}/issues/{int(number)}",
                             json=payload)

    # --- labels -----------------------------------------------------------------------

    async def add_labels(
        self, installation_id: int, repo: str, number: int, labels: Sequence[str]
    ) -> None:
        if labels:
            await self._json(installation_id, "POST",
                             f"{repo_path(repo)}/issues/{int(number)}/labels",
                             json={"labels": list(labels)})

    async def remove_label(self, installation_id: int, repo: str, number: int, label: str) -> None:
        """Remove one label; a label the issue does not carry is not an error."""
        url = f"{repo_path(repo)}/issues/{int(number)}/labels/{quote(label, safe='')}"
        await self._http.request(installation_id, "DELETE", url, tolerate=(404,))

    async def ensure_labels(
        self, installation_id: int, repo: str, specs: Sequence[LabelSpec]
    ) -> tuple[str, ...]:
        """Create the labels the repository lacks; returns the names created.

        Known names are remembered per repository, so a steady stream of incidents costs no
        calls; a label created concurrently elsewhere (422 already_exists) counts as present.
        """
        key = repo.lower()
        known = self._labels.get(key)
        if known is not None and all(spec.name.lower() in known for spec in specs):
            return ()
        if known is None:
            items = await self._http.paginate(installation_id, f"{repo_path(repo)}/labels")
            known = self._labels[key] = {str(item["name"]).lower() for item in items}
        created: list[str] = []
        for spec in specs:
            if spec.name.lower() in known:
                continue
            url = f"{repo_path(repo)}/labels"
            response = await self._http.request(
                installation_id, "POST", url,
                json={"name": spec.name, "color": spec.color.lstrip("#"),
                      "description": spec.description[:100]},
                tolerate=(422,),
            )
            if response.is_error and not _already_exists(response):
                raise failure_for(response, f"POST {url}", 0.0)
            if not response.is_error:
                created.append(spec.name)
            known.add(spec.name.lower())
        return tuple(created)

    # --- comments and people ----------------------------------------------------------

    async def create_comment(self, installation_id: int, repo: str, number: int, body: str) -> int:
        data = await self._json(installation_id, "POST",
                                f"{repo_path(repo)}/issues/{int(number)}/comments",
                                json={"body": body})
        return int(data["id"])

    async def list_comments(
        self, installation_id: int, repo: str, number: int
    ) -> list[CommentView]:
        items = await self._http.paginate(
            installation_id, f"{repo_path(repo)}/issues/{int(number)}/comments"
        )
        return [
            CommentView(id=int(item["id"]), body=str(item.get("body") or ""),
                        user=str((item.get("user") or {}).get("login") or ""))
            for item in items
        ]

    async def list_milestones(
        self, installation_id: int, repo: str, state: str = "open"
    ) -> list[MilestoneView]:
        """The repository's milestones, as GitHub sorts them by due date (raw JSON parsed)."""
        items = await self._http.paginate(
            installation_id, f"{repo_path(repo)}/milestones",
            {"state": state, "sort": "due_on", "direction": "asc"},
        )
        return [MilestoneView.from_json(item) for item in items]

    async def get_permission(self, installation_id: int, repo: str, username: str) -> str:
        """The person's role: admin, maintain, write, triage, read, or none."""
        if not _LOGIN.fullmatch(username):
            return "none"
        data = await self._json(
            installation_id, "GET",
            f"{repo_path(repo)}/collaborators/{quote(username, safe='')}/permission",
            tolerate=(404,),
        )
        if not isinstance(data, dict):
            return "none"
        role = str(data.get("role_name") or "")
        if role in _BUILT_IN_ROLES:
            return role
        # A custom repository role has its own name; the legacy permission says what it
        # inherits (admin, write, read or none).
        return str(data.get("permission") or "none")
