"""Gateway calls about repository activity: pull requests, workflow jobs, commit ancestry and
the check runs of the deployment freeze (mixed into ``GitHubGateway``).

Answers are GitHub's raw JSON objects (the evidence parsers read webhook and REST shapes
alike); the jobs API gives job and step names and links, never logs.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from watchkeeper.errors import PermanentError
from watchkeeper.github.auth import AppCredentials
from watchkeeper.github.failures import NotFoundError
from watchkeeper.github.requester import Requester

_SHA = re.compile(r"[0-9a-fA-F]{4,64}")


def _path(repo: str) -> str:
    # client.py mixes this class in, so its checked path builder is imported late.
    from watchkeeper.github.client import repo_path

    return repo_path(repo)


def _sha(value: str) -> str:
    if not _SHA.fullmatch(value):
        raise PermanentError(f"not a commit SHA: {value[:80]!r}")
    return value


class _Host(Protocol):
    credentials: AppCredentials
    _http: Requester
    _json: Callable[..., Awaitable[Any]]


class ActivityCalls:
    """Mixed into ``GitHubGateway``: uses its requester, ``_json`` and credentials."""

    async def list_pulls(self: _Host, installation_id: int, repo: str, *,
                         base: str | None = None, state: str = "open") -> list[dict[str, Any]]:
        """Pull request objects (``GET /pulls``), newest first."""
        params: dict[str, Any] = {"state": state}
        if base:
            params["base"] = base
        items = await self._http.paginate(installation_id, f"{_path(repo)}/pulls", params)
        return [item for item in items if isinstance(item, dict)]

    async def list_workflow_jobs(self: _Host, installation_id: int, repo: str, run_id: int,
                                 attempt: int | None = None) -> list[dict[str, Any]]:
        """The jobs of a run (of one attempt when given), with their steps; [] when the run
        is gone or not visible."""
        url = f"{_path(repo)}/actions/runs/{int(run_id)}"
        url += f"/attempts/{int(attempt)}/jobs" if attempt else "/jobs"
        try:
            items = await self._http.paginate(installation_id, url, items_key="jobs")
        except NotFoundError:
            return []
        return [item for item in items if isinstance(item, dict)]

    async def compare_commits(self: _Host, installation_id: int, repo: str, base: str,
                              head: str) -> str | None:
        """GitHub's comparison status of ``head`` against ``base``: "identical", "ahead"
        (head contains base), "behind" or "diverged"; None when either is unknown."""
        url = f"{_path(repo)}/compare/{_sha(base)}...{_sha(head)}"
        data = await self._json(installation_id, "GET", url, params={"per_page": 1},
                                tolerate=(404, 422))
        status = data.get("status") if isinstance(data, dict) else None
        return str(status) if status else None

    async def find_check_run(self: _Host, installation_id: int, repo: str, sha: str,
                             name: str) -> int | None:
        """This app's latest check run of that name on the commit, if any."""
        data = await self._json(
            installation_id, "GET", f"{_path(repo)}/commits/{_sha(sha)}/check-runs",
            params={"check_name": name, "filter": "latest",
                    "app_id": str(self.credentials.app_id)},
            tolerate=(404, 422),
        )
        runs = data.get("check_runs") if isinstance(data, dict) else None
        ours = [int(run["id"]) for run in runs or () if isinstance(run, dict)
                and run.get("name") == name and str((run.get("app") or {}).get("id"))
                == str(self.credentials.app_id)]
        return max(ours) if ours else None

    async def create_check_run(self: _Host, installation_id: int, repo: str, *, name: str,
                               head_sha: str, conclusion: str, title: str, summary: str,
                               external_id: str | None = None) -> int:
        """A completed check run on the commit."""
        payload: dict[str, Any] = {
            "name": name, "head_sha": _sha(head_sha), "status": "completed",
            "conclusion": conclusion,
            "output": {"title": title[:255], "summary": summary[:65_000]},
        }
        if external_id:
            payload["external_id"] = external_id
        data = await self._json(installation_id, "POST", f"{_path(repo)}/check-runs",
                                json=payload)
        return int(data["id"])

    async def update_check_run(self: _Host, installation_id: int, repo: str,
                               check_run_id: int, *, conclusion: str, title: str,
                               summary: str) -> bool:
        """Set a check run's conclusion and output; False when it no longer exists."""
        response = await self._http.request(
            installation_id, "PATCH", f"{_path(repo)}/check-runs/{int(check_run_id)}",
            json={"status": "completed", "conclusion": conclusion,
                  "output": {"title": title[:255], "summary": summary[:65_000]}},
            tolerate=(404,),
        )
        return not response.is_error

