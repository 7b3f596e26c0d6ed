"""Gateway calls for the postmortem pull request (mixed into ``GitHubGateway``): Git data
(refs, trees, commits) so several files land in one commit, pull requests opened, edited and
reviewed, and a commit's time (for the detection lag).

Trees are built with inline contents on the parent commit's tree, so no blob calls are
needed; refs only ever move forward (no force), so a branch people pushed to is never
rewritten.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import datetime
from typing import Any, Protocol
from urllib.parse import quote

from watchkeeper.errors import PermanentError
from watchkeeper.github.gateway import GitCommit, PullView
from watchkeeper.github.requester import Requester
from watchkeeper.signals.payload import timestamp

_SHA = re.compile(r"[0-9a-fA-F]{40}")
_BRANCH = re.compile(r"[A-Za-z0-9._/-]{1,200}")


def _path(repo: str) -> str:
    from watchkeeper.github.client import repo_path  # client.py mixes this class in

    return repo_path(repo)


def _sha(value: str) -> str:
    if not _SHA.fullmatch(value):
        raise PermanentError(f"not a commit SHA: {value[:80]!r}")
    return value


def _branch(name: str) -> str:
    if not _BRANCH.fullmatch(name) or ".." in name or name.startswith("/") or name.endswith(
            "/"):
        raise PermanentError(f"not a branch name: {name[:100]!r}")
    return name


def _file(path: str) -> str:
    if not path or path.startswith("/") or ".." in path.split("/"):
        raise PermanentError(f"not a repository file path: {path[:100]!r}")
    return path


class _Host(Protocol):
    _http: Requester
    _json: Callable[..., Awaitable[Any]]


class GitCalls:
    """Mixed into ``GitHubGateway``: uses its requester and ``_json``."""

    async def get_branch_sha(self: _Host, installation_id: int, repo: str,
                             branch: str) -> str | None:
        """The commit the branch points at; None when there is no such branch."""
        data = await self._json(installation_id, "GET",
                                f"{_path(repo)}/git/ref/heads/{_branch(branch)}",
                                tolerate=(404,))
        sha = (data.get("object") or {}).get("sha") if isinstance(data, dict) else None
        return str(sha) if sha else None

    async def get_git_commit(self: _Host, installation_id: int, repo: str,
                             sha: str) -> GitCommit:
        data = await self._json(installation_id, "GET", f"{_path(repo)}/git/commits/{_sha(sha)}")
        return GitCommit(sha=str(data["sha"]), tree=str(data["tree"]["sha"]),
                         message=str(data.get("message") or ""))

    async def create_tree(self: _Host, installation_id: int, repo: str, base_tree: str,
                          files: Mapping[str, str]) -> str:
        """A tree: ``base_tree`` with these files' contents replaced or added."""
        entries = [{"path": _file(path), "mode": "100644", "type": "blob", "content": text}
                   for path, text in files.items()]
        data = await self._json(installation_id, "POST", f"{_path(repo)}/git/trees",
                                json={"base_tree": _sha(base_tree), "tree": entries})
        return str(data["sha"])

    async def create_commit(self: _Host, installation_id: int, repo: str, message: str,
                            tree: str, parents: Sequence[str]) -> str:
        data = await self._json(installation_id, "POST", f"{_path(repo)}/git/commits",
                                json={"message": message, "tree": _sha(tree),
                                      "parents": [_sha(p) for p in parents]})
        return str(data["sha"])

    async def create_branch(self: _Host, installation_id: int, repo: str, branch: str,
                            sha: str) -> None:
        await self._json(installation_id, "POST", f"{_path(repo)}/git/refs",
                         json={"ref": f"refs/heads/{_branch(branch)}", "sha": _sha(sha)})

    async def move_branch(self: _Host, installation_id: int, repo: str, branch: str,
                          sha: str) -> None:
        """Fast-forward only: GitHub refuses if someone pushed in between (retry then)."""
        await self._json(installation_id, "PATCH",
                         f"{_path(repo)}/git/refs/heads/{_branch(branch)}",
                         json={"sha": _sha(sha), "force": False})

    async def find_pulls(self: _Host, installation_id: int, repo: str,
                         branch: str) -> list[PullView]:
        """Pull requests from this branch of the repository, any state, newest first."""
        owner = repo.split("/", 1)[0]
        items = await self._http.paginate(
            installation_id, f"{_path(repo)}/pulls",
            {"head": f"{owner}:{_branch(branch)}", "state": "all"})
        return [PullView.from_json(item) for item in items if isinstance(item, dict)]

    async def create_pull(self: _Host, installation_id: int, repo: str, *, head: str,
                          base: str, title: str, body: str) -> PullView:
        data = await self._json(installation_id, "POST", f"{_path(repo)}/pulls",
                                json={"head": _branch(head), "base": _branch(base),
                                      "title": title, "body": body})
        return PullView.from_json(data)

    async def update_pull(self: _Host, installation_id: int, repo: str, number: int, *,
                          title: str | None = None, body: str | None = None,
                          state: str | None = None) -> PullView:
        payload = {k: v for k, v in (("title", title), ("body", body), ("state", state))
                   if v is not None}
        data = await self._json(installation_id, "PATCH", f"{_path(repo)}/pulls/{int(number)}",
                                json=payload)
        return PullView.from_json(data)

    async def request_reviewers(self: _Host, installation_id: int, repo: str, number: int,
                                reviewers: Sequence[str], teams: Sequence[str] = ()) -> bool:
        """Ask for reviews; False when GitHub refused (e.g. not a collaborator)."""
        response = await self._http.request(
            installation_id, "POST", f"{_path(repo)}/pulls/{int(number)}/requested_reviewers",
            json={"reviewers": list(reviewers), "team_reviewers": list(teams)},
            tolerate=(422,))
        return not response.is_error

    async def get_commit_time(self: _Host, installation_id: int, repo: str,
                              sha: str) -> datetime | None:
        """When the commit was made (committer date); None when it cannot be read."""
        data = await self._json(installation_id, "GET",
                                f"{_path(repo)}/commits/{quote(_sha(sha))}",
                                tolerate=(404, 409, 422))
        commit = data.get("commit") if isinstance(data, dict) else None
        if not isinstance(commit, dict):
            return None
        for who in ("committer", "author"):
            when = timestamp((commit.get(who) or {}).get("date"))
            if when is not None:
                return when
        return None
