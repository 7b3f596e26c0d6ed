"""Installations and their repositories, security alerts and workflow runs: what the
reconcile pass and the rebuild command read."""

from __future__ import annotations

from typing import Any

from watchkeeper.github.fake import shapes
from watchkeeper.github.fake.http import REPO, Req, Resp, Route, not_found, page, route
from watchkeeper.github.fake.state import Actor, World

ROUTES: list[Route] = []
# GitHub's answers when a repository does not use a feature.
_OFF = {
    "code-scanning": (404, "no analysis found"),
    "secret-scanning": (404, "Secret scanning is disabled on this repository."),
    "dependabot": (403, "Dependabot alerts are disabled for this repository."),
}


@route(ROUTES, "GET", r"/app/installations", auth="app")
def list_installations(world: World, req: Req) -> Resp:
    items = [{"id": i.id, "app_id": world.app_id, "app_slug": world.app_slug,
              "account": shapes.user(world, Actor(i.account, "Organization")),
              "repository_selection": "selected", "target_type": "Organization",
              "suspended_at": "2026-01-01T00:00:00Z" if i.suspended else None}
             for i in sorted(world.installations.values(), key=lambda i: i.id)]
    return page(req, items)


@route(ROUTES, "GET", r"/installation/repositories")
def list_installation_repos(world: World, req: Req) -> Resp:
    repos = [shapes.repo(world, r) for r in sorted(world.repos.values(), key=lambda r: r.id)
             if r.installation_id == req.installation_id]
    return page(req, repos, wrapper="repositories")


def _alerts(req: Req, kind: str) -> list[dict[str, Any]] | Resp:
    found = req.r.alerts.get(kind)
    if found is None:
        status, message = _OFF[kind]
        return Resp(status, shapes.error(message, status))
    return found


def _shown(kind: str, alert: dict[str, Any], req: Req) -> dict[str, Any]:
    """Secret-scanning answers carry the secret itself unless hide_secret=true."""
    if kind == "secret-scanning" and req.query.get("hide_secret") == "true":
        return {k: v for k, v in alert.items() if k != "secret"}
    return alert


def _list(kind: str) -> Any:
    def handler(world: World, req: Req) -> Resp:
        found = _alerts(req, kind)
        if isinstance(found, Resp):
            return found
        state = req.query.get("state")
        wanted = {s for s in (state or "").split(",") if s}
        items = [_shown(kind, a, req) for a in sorted(found, key=lambda a: -int(a["number"]))
                 if not wanted or a.get("state") in wanted]
        return page(req, items)
    return handler


def _get(kind: str) -> Any:
    def handler(world: World, req: Req) -> Resp:
        found = _alerts(req, kind)
        if isinstance(found, Resp):
            return found
        number = int(req.args[0])
        alert = next((a for a in found if int(a["number"]) == number), None)
        return not_found() if alert is None else Resp(200, _shown(kind, alert, req))
    return handler


for _kind in _OFF:
    route(ROUTES, "GET", REPO + rf"/{_kind}/alerts")(_list(_kind))
    route(ROUTES, "GET", REPO + rf"/{_kind}/alerts/(\d+)")(_get(_kind))


@route(ROUTES, "GET", REPO + r"/actions/runs")
def list_runs(world: World, req: Req) -> Resp:
    status = req.query.get("status")
    branch = req.query.get("branch")
    runs = [r for r in req.r.workflow_runs
            if (not status or r.get("status") == status or r.get("conclusion") == status)
            and (not branch or r.get("head_branch") == branch)]
    return page(req, runs, wrapper="workflow_runs")
