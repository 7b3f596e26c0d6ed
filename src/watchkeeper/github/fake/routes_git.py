"""Git data (trees, commits), a commit's REST view, pull request edits and review requests.

Enough of GitHub's Git Data API to write several files in one commit: a tree built on a
base tree with inline contents, a commit of that tree, then the ref moved to it.
"""

from __future__ import annotations

import hashlib
from typing import Any

from watchkeeper.github.fake import ops, shapes
from watchkeeper.github.fake.http import REPO, Req, Resp, Route, invalid, not_found, route
from watchkeeper.github.fake.state import Repo, World, blob_sha

ROUTES: list[Route] = []
FILE_MODES = {"100644", "100755"}


def tree_sha(r: Repo, files: dict[str, str]) -> str:
    """A stable id for a snapshot, registered so it can be a base tree."""
    digest = hashlib.sha1(usedforsecurity=False)
    for path in sorted(files):
        digest.update(f"{path}\0{blob_sha(files[path])}\n".encode())
    sha = digest.hexdigest()
    r.trees.setdefault(sha, dict(files))
    return sha


def _git_commit(world: World, r: Repo, sha: str) -> dict[str, Any]:
    meta = r.commit_meta.get(sha, {})
    when = shapes.ts(meta.get("date") or world.now())
    person = {"name": "Octo Person", "email": "octo@example.com", "date": when}
    return {
        "sha": sha, "node_id": f"C_{sha[:12]}",
        "url": f"{world.api_url}/repos/{r.full_name}/git/commits/{sha}",
        "html_url": f"{world.web_url}/{r.full_name}/commit/{sha}",
        "message": meta.get("message", ""), "author": person, "committer": person,
        "tree": {"sha": tree_sha(r, r.commits[sha]),
                 "url": f"{world.api_url}/repos/{r.full_name}/git/trees/"},
        "parents": [{"sha": p} for p in r.parents.get(sha, ())],
    }


@route(ROUTES, "GET", REPO + r"/git/commits/([0-9a-f]{40})")
def get_git_commit(world: World, req: Req) -> Resp:
    sha = req.args[0]
    return Resp(200, _git_commit(world, req.r, sha)) if sha in req.r.commits else not_found()


@route(ROUTES, "GET", REPO + r"/commits/([^/]+)")
def get_commit(world: World, req: Req) -> Resp:
    r, ref = req.r, req.args[0]
    sha = r.branches.get(ref, ref)
    if sha not in r.commits:
        return Resp(422, shapes.error(f"No commit found for SHA: {ref}", 422))
    git = _git_commit(world, r, sha)
    return Resp(200, {
        "sha": sha, "node_id": git["node_id"], "html_url": git["html_url"],
        "url": f"{world.api_url}/repos/{r.full_name}/commits/{sha}",
        "commit": {key: git[key] for key in ("author", "committer", "message", "tree")},
        "parents": git["parents"],
    })


@route(ROUTES, "POST", REPO + r"/git/trees")
def create_tree(world: World, req: Req) -> Resp:
    r = req.r
    base = req.json_field("base_tree")
    entries = req.json_field("tree")
    if base is not None and base not in r.trees:
        return invalid("Tree", "base_tree", "invalid", "base_tree is not a valid tree")
    if not isinstance(entries, list):
        return invalid("Tree", "tree", "missing_field")
    files = dict(r.trees[base]) if base is not None else {}
    for entry in entries:
        path = entry.get("path") if isinstance(entry, dict) else None
        if not isinstance(path, str) or not path or path.startswith("/") or ".." in path:
            return invalid("Tree", "path", "invalid")
        if entry.get("mode") not in FILE_MODES or entry.get("type") != "blob":
            return invalid("Tree", "mode", "invalid", "only file blobs are supported here")
        if "content" in entry and isinstance(entry["content"], str):
            files[path] = entry["content"]
        elif "sha" in entry and entry["sha"] is None:
            files.pop(path, None)
        else:
            return invalid("Tree", "content", "missing_field")
    sha = tree_sha(r, files)
    return Resp(201, {"sha": sha, "truncated": False,
                      "url": f"{world.api_url}/repos/{r.full_name}/git/trees/{sha}",
                      "tree": [{"path": p, "mode": "100644", "type": "blob",
                                "sha": blob_sha(t)} for p, t in sorted(files.items())]})


@route(ROUTES, "POST", REPO + r"/git/commits")
def create_git_commit(world: World, req: Req) -> Resp:
    r = req.r
    message, tree, parents = (req.json_field(k) for k in ("message", "tree", "parents"))
    if not isinstance(message, str) or not message:
        return invalid("Commit", "message", "missing_field")
    if tree not in r.trees:
        return invalid("Commit", "tree", "invalid", "Tree SHA does not exist")
    if not isinstance(parents, list) or any(p not in r.commits for p in parents):
        return invalid("Commit", "parents", "invalid", "Parent SHA does not exist")
    sha = world.commit(r, r.trees[tree], parents=tuple(parents))
    r.commit_meta[sha]["message"] = message
    return Resp(201, _git_commit(world, r, sha))


@route(ROUTES, "PATCH", REPO + r"/pulls/(\d+)")
def update_pull(world: World, req: Req) -> Resp:
    r = req.r
    issue = r.issues.get(int(req.args[0]))
    if issue is None or issue.pull is None:
        return not_found()
    state = req.json_field("state")
    if state not in (None, "open", "closed"):
        return invalid("PullRequest", "state", "invalid")
    if state == "open" and issue.state == "closed" and (
            issue.pull.merged or issue.pull.head not in r.branches):
        return invalid("PullRequest", "state", "invalid", "state cannot be changed. The "
                       "pull request was merged or its head branch is gone.")
    ops.edit_issue(world, r, issue, req.actor or world.bot, title=req.json_field("title"),
                   body=req.json_field("body"), state=state)
    return Resp(200, shapes.pull(world, r, issue))


@route(ROUTES, "POST", REPO + r"/pulls/(\d+)/requested_reviewers")
def request_reviewers(world: World, req: Req) -> Resp:
    r = req.r
    issue = r.issues.get(int(req.args[0]))
    if issue is None or issue.pull is None:
        return not_found()
    logins = req.json_field("reviewers") or []
    teams = req.json_field("team_reviewers") or []
    if not isinstance(logins, list) or not isinstance(teams, list):
        return invalid("PullRequest", "reviewers", "invalid")
    if any(login.lower() not in r.permissions for login in logins) or any(
            login.lower() == issue.user.login.lower() for login in logins):
        return Resp(422, shapes.error(
            "Reviews may only be requested from collaborators. One or more of the users or "
            f"teams you specified is not a collaborator of the {r.full_name} repository.",
            422))
    for login in logins:
        if login not in issue.pull.requested_reviewers:
            issue.pull.requested_reviewers.append(login)
    for slug in teams:
        if slug not in issue.pull.requested_teams:
            issue.pull.requested_teams.append(slug)
    return Resp(201, shapes.pull(world, r, issue))
