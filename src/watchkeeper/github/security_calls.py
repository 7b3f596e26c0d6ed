"""Gateway calls for looking back instead of waiting for webhooks: the app's installations and
their repositories, open security alerts and recent workflow runs (mixed into
``GitHubGateway``; the reconcile pass and the rebuild command use them).

Secret-scanning alerts are always read with ``hide_secret=true``, and the ``secret`` field is
dropped should it come anyway: the secret itself must never reach a log, an issue or the
store. A repository that does not use a feature (403/404) answers None, not an error.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from watchkeeper.github.requester import Requester

AlertKind = Literal["code-scanning", "secret-scanning", "dependabot"]
ALERT_KINDS: tuple[AlertKind, ...] = ("code-scanning", "secret-scanning", "dependabot")
_SECRET_FIELDS = ("secret",)


def _path(repo: str) -> str:
    from watchkeeper.github.client import repo_path  # client.py mixes this class in

    return repo_path(repo)


def _without_secret(alert: Any) -> Any:
    if isinstance(alert, dict):
        return {k: v for k, v in alert.items() if k not in _SECRET_FIELDS}
    return alert


@dataclass(frozen=True, slots=True)
class InstallationView:
    id: int
    account: str
    suspended: bool = False


class _Host(Protocol):
    _http: Requester

    @property
    def _json(self) -> Callable[..., Awaitable[Any]]: ...


class SecurityCalls:
    """Mixed into ``GitHubGateway``: uses its requester and ``_json``."""

    async def list_installations(self: _Host) -> list[InstallationView]:
        """Every installation of the app (JWT-authenticated)."""
        items = await self._http.paginate(None, "/app/installations")  # type: ignore[arg-type]
        return [InstallationView(int(i["id"]), str((i.get("account") or {}).get("login") or ""),
                                 bool(i.get("suspended_at")))
                for i in items if isinstance(i, dict) and "id" in i]

    async def list_installation_repos(self: _Host, installation_id: int
                                      ) -> list[dict[str, Any]]:
        """The repositories the installation can see (raw repository objects)."""
        items = await self._http.paginate(installation_id, "/installation/repositories",
                                          items_key="repositories")
        return [item for item in items if isinstance(item, dict) and item.get("full_name")]

    async def list_alerts(self: _Host, installation_id: int, repo: str, kind: AlertKind,
                          state: str = "open") -> list[dict[str, Any]] | None:
        """The repository's alerts of a kind in that state; None when it does not use the
        feature or the app may not read it."""
        if kind not in ALERT_KINDS:
            raise ValueError(f"unknown alert kind {kind!r}")
        params: dict[str, Any] = {"state": state}
        if kind == "secret-scanning":
            params["hide_secret"] = "true"
        url = f"{_path(repo)}/{kind}/alerts"
        first = await self._http.request(installation_id, "GET", url,
                                         params={**params, "per_page": 100},
                                         tolerate=(403, 404))
        if first.is_error:
            return None
        items = first.json() if isinstance(first.json(), list) else []
        if first.links.get("next"):
            items = await self._http.paginate(installation_id, url, params)
        return [_without_secret(a) for a in items if isinstance(a, dict) and "number" in a]

    async def get_alert(self: _Host, installation_id: int, repo: str, kind: AlertKind,
                        number: int) -> dict[str, Any] | None:
        """One alert; None when it is gone or not visible."""
        if kind not in ALERT_KINDS:
            raise ValueError(f"unknown alert kind {kind!r}")
        params = {"hide_secret": "true"} if kind == "secret-scanning" else None
        data = await self._json(installation_id, "GET",
                                f"{_path(repo)}/{kind}/alerts/{int(number)}", params=params,
                                tolerate=(403, 404))
        return _without_secret(data) if isinstance(data, dict) else None

    async def list_workflow_runs(self: _Host, installation_id: int, repo: str, *,
                                 branch: str | None = None, per_page: int = 100
                                 ) -> list[dict[str, Any]]:
        """The newest completed runs (one page), newest first."""
        params: dict[str, Any] = {"status": "completed", "per_page": max(1, min(per_page, 100))}
        if branch:
            params["branch"] = branch
        data = await self._json(installation_id, "GET", f"{_path(repo)}/actions/runs",
                                params=params, tolerate=(403, 404))
        runs = data.get("workflow_runs") if isinstance(data, dict) else None
        return [run for run in runs or () if isinstance(run, dict)]
