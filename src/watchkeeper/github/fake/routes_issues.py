"""Issues, labels, comments and collaborator permissions, as GitHub's REST API serves them."""

from __future__ import annotations

import re
from typing import Any

from watchkeeper.github.fake import ops, shapes
from watchkeeper.github.fake.http import REPO, Req, Resp, Route, invalid, not_found, page, route
from watchkeeper.github.fake.state import Actor, Issue, World

ROUTES: list[Route] = []
MAX_BODY = 65536
MAX_TITLE = 256
STATE_REASONS = {"completed", "not_planned", "duplicate", "reopened"}
_COLOR = re.compile(r"[0-9A-Fa-f]{6}")


def _issue(req: Req, arg: int = 0) -> Issue | None:
    return req.r.issues.get(int(req.args[arg]))


def _check_text(req: Req) -> Resp | None:
    body = req.json_field("body")
    if isinstance(body, str) and len(body) > MAX_BODY:
        return invalid("Issue", "body", "custom",
                       f"body is too long (maximum is {MAX_BODY} characters)")
    title = req.json_field("title")
    if title is not None and (not isinstance(title, str) or not title.strip()):
        return invalid("Issue", "title", "missing_field")
    if isinstance(title, str) and len(title) > MAX_TITLE:
        return invalid("Issue", "title", "custom",
                       f"title is too long (maximum is {MAX_TITLE} characters)")
    return None


@route(ROUTES, "GET", REPO + r"/issues")
def list_issues(world: World, req: Req) -> Resp:
    state = req.query.get("state", "open")
    wanted = [n.strip().lower() for n in req.query.get("labels", "").split(",") if n.strip()]
    found = [
        i for i in req.r.issues.values()
        if (state == "all" or i.state == state)
        and all(w in {n.lower() for n in i.labels} for w in wanted)
    ]
    newest_first = req.query.get("direction", "desc") == "desc"
    found.sort(key=lambda i: (i.created_at, i.number), reverse=newest_first)
    return page(req, [shapes.issue(world, req.r, i) for i in found])


@route(ROUTES, "POST", REPO + r"/issues")
def create_issue(world: World, req: Req) -> Resp:
    if not isinstance(req.json_field("title"), str):
        return invalid("Issue", "title", "missing_field")
    if (problem := _check_text(req)) is not None:
        return problem
    issue = ops.create_issue(
        world, req.r, req.actor or world.bot, req.json_field("title"),
        req.json_field("body"), req.json_field("labels") or (), req.json_field("assignees") or (),
    )
    return Resp(201, shapes.issue(world, req.r, issue))


@route(ROUTES, "GET", REPO + r"/issues/(\d+)")
def get_issue(world: World, req: Req) -> Resp:
    issue = _issue(req)
    return not_found() if issue is None else Resp(200, shapes.issue(world, req.r, issue))


@route(ROUTES, "PATCH", REPO + r"/issues/(\d+)")
def update_issue(world: World, req: Req) -> Resp:
    issue = _issue(req)
    if issue is None:
        return not_found()
    if (problem := _check_text(req)) is not None:
        return problem
    state, reason = req.json_field("state"), req.json_field("state_reason")
    if state not in (None, "open", "closed"):
        return invalid("Issue", "state", "invalid")
    if reason is not None and reason not in STATE_REASONS:
        return invalid("Issue", "state_reason", "invalid")
    ops.edit_issue(
        world, req.r, issue, req.actor or world.bot, title=req.json_field("title"),
        body=req.json_field("body"), state=state, state_reason=reason,
        labels=req.json_field("labels"), assignees=req.json_field("assignees"),
    )
    return Resp(200, shapes.issue(world, req.r, issue))


def _labels_of(world: World, req: Req, issue: Issue) -> list[dict[str, Any]]:
    return [shapes.label(world, req.r, lb) for n in issue.labels if (lb := req.r.label(n))]


@route(ROUTES, "POST", REPO + r"/issues/(\d+)/labels")
def add_labels(world: World, req: Req) -> Resp:
    issue = _issue(req)
    if issue is None:
        return not_found()
    names = req.json_field("labels")
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        return invalid("Label", "labels", "invalid")
    ops.add_labels(world, req.r, issue, req.actor or world.bot, names)
    return Resp(200, _labels_of(world, req, issue))


@route(ROUTES, "PUT", REPO + r"/issues/(\d+)/labels")
def set_labels(world: World, req: Req) -> Resp:
    issue = _issue(req)
    if issue is None:
        return not_found()
    ops.edit_issue(world, req.r, issue, req.actor or world.bot,
                   labels=req.json_field("labels") or [])
    return Resp(200, _labels_of(world, req, issue))


@route(ROUTES, "DELETE", REPO + r"/issues/(\d+)/labels/([^/]+)")
def remove_label(world: World, req: Req) -> Resp:
    issue = _issue(req)
    if issue is None:
        return not_found()
    if not ops.remove_label(world, req.r, issue, req.actor or world.bot, req.args[1]):
        return Resp(404, shapes.error("Label does not exist", 404))
    return Resp(200, _labels_of(world, req, issue))


@route(ROUTES, "GET", REPO + r"/issues/(\d+)/comments")
def list_comments(world: World, req: Req) -> Resp:
    issue = _issue(req)
    if issue is None:
        return not_found()
    return page(req, [shapes.comment(world, req.r, issue, c) for c in issue.comments])


@route(ROUTES, "POST", REPO + r"/issues/(\d+)/comments")
def create_comment(world: World, req: Req) -> Resp:
    issue = _issue(req)
    if issue is None:
        return not_found()
    body = req.json_field("body")
    if not isinstance(body, str) or not body:
        return invalid("IssueComment", "body", "missing_field")
    if len(body) > MAX_BODY:
        return invalid("IssueComment", "body", "custom",
                       f"body is too long (maximum is {MAX_BODY} characters)")
    c = ops.add_comment(world, req.r, issue, req.actor or world.bot, body)
    return Resp(201, shapes.comment(world, req.r, issue, c))


@route(ROUTES, "GET", REPO + r"/labels")
def list_labels(world: World, req: Req) -> Resp:
    return page(req, [shapes.label(world, req.r, lb) for lb in req.r.labels.values()])


@route(ROUTES, "GET", REPO + r"/labels/([^/]+)")
def get_label(world: World, req: Req) -> Resp:
    lb = req.r.label(req.args[0])
    return not_found() if lb is None else Resp(200, shapes.label(world, req.r, lb))


@route(ROUTES, "POST", REPO + r"/labels")
def create_label(world: World, req: Req) -> Resp:
    name, color = req.json_field("name"), req.json_field("color", "ededed")
    if not isinstance(name, str) or not name.strip():
        return invalid("Label", "name", "missing_field")
    if not isinstance(color, str) or not _COLOR.fullmatch(color):
        return invalid("Label", "color", "invalid")
    description = req.json_field("description")
    if isinstance(description, str) and len(description) > 100:
        return invalid("Label", "description", "invalid")
    if req.r.label(name) is not None:
        return invalid("Label", "name", "already_exists")
    lb = ops.ensure_label(world, req.r, name, color.lower(), description)
    return Resp(201, shapes.label(world, req.r, lb))


@route(ROUTES, "GET", REPO + r"/collaborators/([^/]+)/permission")
def get_permission(world: World, req: Req) -> Resp:
    entry = req.r.permissions.get(req.args[0].lower())
    if entry is None:
        return Resp(404, shapes.error(f"{req.args[0]} is not a user", 404))
    permission, role = entry
    return Resp(200, {
        "permission": permission, "role_name": role,
        "user": shapes.user(world, Actor(req.args[0])),
    })
