"""Check runs listed by commit, and commit comparison (ancestry through recorded parents)."""

from __future__ import annotations

from collections import deque

from watchkeeper.github.fake import shapes
from watchkeeper.github.fake.http import REPO, Req, Resp, Route, not_found, route
from watchkeeper.github.fake.state import Repo, World

ROUTES: list[Route] = []


def _resolve(r: Repo, ref: str) -> str | None:
    ref = ref.removeprefix("refs/heads/")
    if ref in r.branches:
        return r.branches[ref]
    return ref if ref in r.commits else None


def _ancestors(r: Repo, sha: str) -> dict[str, int]:
    """Every ancestor of the commit (itself included) -> its distance."""
    seen = {sha: 0}
    queue = deque([sha])
    while queue:
        current = queue.popleft()
        for parent in r.parents.get(current, ()):
            if parent not in seen:
                seen[parent] = seen[current] + 1
                queue.append(parent)
    return seen


@route(ROUTES, "GET", REPO + r"/commits/([^/]+)/check-runs")
def list_check_runs_for_ref(world: World, req: Req) -> Resp:
    r = req.r
    sha = _resolve(r, req.args[0])
    if sha is None:
        return Resp(422, shapes.error(f"No commit found for SHA: {req.args[0]}", 422))
    name = req.query.get("check_name")
    runs = [run for _, run in sorted(r.check_runs.items(), reverse=True)
            if run.get("head_sha") == sha and (name is None or run.get("name") == name)]
    if req.query.get("filter", "latest") == "latest":
        names: set[object] = set()
        runs = [run for run in runs if not (run.get("name") in names or names.add(run.get("name")))]  # type: ignore[func-returns-value]
    body = [{**run, "html_url": f"{world.web_url}/{r.full_name}/runs/{run['id']}",
             "app": shapes.app(world)} for run in runs]
    return Resp(200, {"total_count": len(body), "check_runs": body})


@route(ROUTES, "GET", REPO + r"/compare/([^/]+?)\.\.\.([^/]+)")
def compare(world: World, req: Req) -> Resp:
    r = req.r
    base, head = _resolve(r, req.args[0]), _resolve(r, req.args[1])
    if base is None or head is None:
        return not_found()
    up, down = _ancestors(r, head), _ancestors(r, base)
    if base == head:
        status, ahead, behind = "identical", 0, 0
    elif base in up:
        status, ahead, behind = "ahead", up[base], 0
    elif head in down:
        status, ahead, behind = "behind", 0, down[head]
    else:
        status, ahead, behind = "diverged", len(set(up) - set(down)), len(set(down) - set(up))
    return Resp(200, {
        "status": status, "ahead_by": ahead, "behind_by": behind, "total_commits": ahead,
        "base_commit": {"sha": base}, "commits": [], "files": [],
        "html_url": f"{world.web_url}/{r.full_name}/compare/{req.args[0]}...{req.args[1]}",
    })
