"""GitHub-shaped JSON for the fake's objects (the subset of fields real clients read).

The same shapes serve REST answers and webhook payloads, as on GitHub, so code that parses
one fake webhook parses the real one.
"""

from __future__ import annotations

import base64
from datetime import datetime
from typing import Any
from urllib.parse import quote

from watchkeeper.github.fake.state import Actor, Comment, Issue, Label, Pull, Repo, World

DOCS = "https://docs.github.com/rest"


def ts(when: datetime | None) -> str | None:
    return when.strftime("%Y-%m-%dT%H:%M:%SZ") if when else None


def error(message: str, status: int, errors: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"message": message, "documentation_url": DOCS, "status": str(status)}
    if errors is not None:
        body["errors"] = errors
    return body


def validation(resource: str, field: str, code: str, message: str | None = None) -> dict[str, Any]:
    item = {"resource": resource, "field": field, "code": code}
    if message:
        item["message"] = message
    return error("Validation Failed", 422, [item])


def user(world: World, actor: Actor) -> dict[str, Any]:
    uid = world.user_id(actor.login)
    return {
        "login": actor.login, "id": uid, "node_id": f"U_{uid}",
        "avatar_url": f"https://avatars.githubusercontent.com/u/{uid}?v=4", "gravatar_id": "",
        "url": f"{world.api_url}/users/{quote(actor.login)}",
        "html_url": f"{world.web_url}/{quote(actor.login)}",
        "type": actor.type, "site_admin": False,
    }


def app(world: World) -> dict[str, Any]:
    return {
        "id": world.app_id, "slug": world.app_slug, "node_id": f"A_{world.app_id}",
        "name": world.app_slug.replace("-", " ").title(),
        "owner": user(world, Actor("watchkeeper-owner")),
        "html_url": f"{world.web_url}/apps/{world.app_slug}",
        "permissions": {"issues": "write", "contents": "write", "pull_requests": "write",
                        "metadata": "read", "checks": "read", "actions": "read"},
        "events": ["issues", "issue_comment", "pull_request", "workflow_run"],
    }


def repo(world: World, r: Repo) -> dict[str, Any]:
    return {
        "id": r.id, "node_id": f"R_{r.id}", "name": r.name, "full_name": r.full_name,
        "private": r.private, "visibility": "private" if r.private else "public",
        "owner": user(world, Actor(r.owner, "Organization")),
        "html_url": f"{world.web_url}/{r.full_name}", "url": f"{world.api_url}/repos/{r.full_name}",
        "default_branch": r.default_branch, "archived": False, "disabled": False,
        "has_issues": True,
    }


def label(world: World, r: Repo, lb: Label) -> dict[str, Any]:
    return {
        "id": lb.id, "node_id": f"LA_{lb.id}", "name": lb.name, "color": lb.color,
        "description": lb.description, "default": False,
        "url": f"{world.api_url}/repos/{r.full_name}/labels/{quote(lb.name, safe='')}",
    }


def issue(world: World, r: Repo, i: Issue) -> dict[str, Any]:
    kind = "pull" if i.pull else "issues"
    base = f"{world.api_url}/repos/{r.full_name}/issues/{i.number}"
    labels = [label(world, r, lb) for name in i.labels if (lb := r.label(name))]
    assignees = [user(world, Actor(login)) for login in i.assignees]
    data: dict[str, Any] = {
        "id": i.id, "node_id": f"I_{i.id}", "number": i.number, "title": i.title, "body": i.body,
        "user": user(world, i.user), "labels": labels, "state": i.state,
        "state_reason": i.state_reason, "locked": False,
        "assignee": assignees[0] if assignees else None, "assignees": assignees,
        "milestone": None, "comments": len(i.comments),
        "created_at": ts(i.created_at), "updated_at": ts(i.updated_at),
        "closed_at": ts(i.closed_at), "author_association": "NONE" if i.via_app else "MEMBER",
        "url": base, "repository_url": f"{world.api_url}/repos/{r.full_name}",
        "labels_url": base + "/labels{/name}", "comments_url": base + "/comments",
        "events_url": base + "/events",
        "html_url": f"{world.web_url}/{r.full_name}/{kind}/{i.number}",
        "performed_via_github_app": app(world) if i.via_app else None,
    }
    if i.pull is not None:
        data["pull_request"] = {
            "url": f"{world.api_url}/repos/{r.full_name}/pulls/{i.number}",
            "html_url": data["html_url"], "merged_at": ts(i.pull.merged_at),
        }
    return data


def comment(world: World, r: Repo, i: Issue, c: Comment) -> dict[str, Any]:
    return {
        "id": c.id, "node_id": f"IC_{c.id}", "body": c.body, "user": user(world, c.user),
        "created_at": ts(c.created_at), "updated_at": ts(c.updated_at),
        "author_association": "NONE" if c.via_app else "MEMBER",
        "url": f"{world.api_url}/repos/{r.full_name}/issues/comments/{c.id}",
        "html_url": f"{world.web_url}/{r.full_name}/issues/{i.number}#issuecomment-{c.id}",
        "issue_url": f"{world.api_url}/repos/{r.full_name}/issues/{i.number}",
        "performed_via_github_app": app(world) if c.via_app else None,
    }


def _branch_end(world: World, r: Repo, ref: str, sha: str) -> dict[str, Any]:
    return {"label": f"{r.owner}:{ref}", "ref": ref, "sha": sha,
            "user": user(world, Actor(r.owner, "Organization")), "repo": repo(world, r)}


def pull(world: World, r: Repo, i: Issue) -> dict[str, Any]:
    p: Pull | None = i.pull
    assert p is not None
    data = issue(world, r, i)
    data.pop("pull_request", None)
    data.update({
        "url": f"{world.api_url}/repos/{r.full_name}/pulls/{i.number}",
        "draft": p.draft, "merged": p.merged, "merged_at": ts(p.merged_at),
        "merge_commit_sha": p.merge_sha, "mergeable": not p.merged and i.state == "open",
        "requested_reviewers": [user(world, Actor(login)) for login in p.requested_reviewers],
        "requested_teams": [{"slug": slug, "name": slug} for slug in p.requested_teams],
        "head": _branch_end(world, r, p.head, r.branches.get(p.head, p.head_sha)),
        "base": _branch_end(world, r, p.base, r.branches.get(p.base, p.base_sha)),
    })
    return data


def ref(world: World, r: Repo, branch: str) -> dict[str, Any]:
    sha = r.branches[branch]
    return {
        "ref": f"refs/heads/{branch}", "node_id": f"REF_{sha[:12]}",
        "url": f"{world.api_url}/repos/{r.full_name}/git/refs/heads/{branch}",
        "object": {"sha": sha, "type": "commit",
                   "url": f"{world.api_url}/repos/{r.full_name}/git/commits/{sha}"},
    }


def content(world: World, r: Repo, path: str, text: str, blob: str) -> dict[str, Any]:
    encoded = base64.encodebytes(text.encode("utf-8")).decode("ascii")  # GitHub wraps lines
    return {
        "type": "file", "encoding": "base64", "size": len(text.encode("utf-8")),
        "name": path.rsplit("/", 1)[-1], "path": path, "content": encoded, "sha": blob,
        "url": f"{world.api_url}/repos/{r.full_name}/contents/{quote(path)}",
        "html_url": f"{world.web_url}/{r.full_name}/blob/{r.default_branch}/{quote(path)}",
    }
