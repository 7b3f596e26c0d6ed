"""Repository, contents, Git refs, pull requests, check runs, workflow jobs, milestones."""

from __future__ import annotations

import base64
import binascii

from watchkeeper.github.fake import ops, shapes
from watchkeeper.github.fake.http import REPO, Req, Resp, Route, invalid, not_found, page, route
from watchkeeper.github.fake.state import Actor, Repo, World, blob_sha

ROUTES: list[Route] = []


@route(ROUTES, "GET", REPO)
def get_repo(world: World, req: Req) -> Resp:
    return Resp(200, shapes.repo(world, req.r))


def _snapshot(r: Repo, ref: str | None) -> dict[str, str] | None:
    if ref is None:
        return r.files()
    if ref in r.branches:
        return r.files(ref)
    ref = ref.removeprefix("refs/heads/")
    return r.files(ref) if ref in r.branches else r.commits.get(ref)


@route(ROUTES, "GET", REPO + r"/contents/(.+)")
def get_contents(world: World, req: Req) -> Resp:
    files, path = _snapshot(req.r, req.query.get("ref")), req.args[0].strip("/")
    if files is None:
        return Resp(404, shapes.error(f"No commit found for the ref {req.query['ref']}", 404))
    if path in files:
        return Resp(200, shapes.content(world, req.r, path, files[path], blob_sha(files[path])))
    entries = sorted({p[len(path) + 1:].split("/")[0] for p in files if p.startswith(path + "/")})
    if not entries:
        return not_found()
    return Resp(200, [
        {"type": "file" if f"{path}/{e}" in files else "dir", "name": e, "path": f"{path}/{e}"}
        for e in entries
    ])


@route(ROUTES, "PUT", REPO + r"/contents/(.+)")
def put_contents(world: World, req: Req) -> Resp:
    r, path = req.r, req.args[0].strip("/")
    branch = req.json_field("branch") or r.default_branch
    if not isinstance(req.json_field("message"), str):
        return invalid("Commit", "message", "missing_field")
    try:
        text = base64.b64decode(req.json_field("content") or "", validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, TypeError):
        return invalid("Commit", "content", "invalid")
    if branch not in r.branches:
        return Resp(404, shapes.error(f"Branch {branch} not found", 404))
    files = dict(r.files(branch))
    sha = req.json_field("sha")
    if path in files and sha is None:
        return Resp(422, shapes.error('Invalid request.\n\n"sha" wasn\'t supplied.', 422))
    if path in files and sha != blob_sha(files[path]):
        return Resp(409, shapes.error(f"{path} does not match {sha}", 409))
    existed = path in files
    files[path] = text
    commit = world.commit(r, files, branch=branch)
    data = shapes.content(world, r, path, text, blob_sha(text))
    data.pop("content")
    return Resp(200 if existed else 201, {
        "content": data,
        "commit": {"sha": commit, "message": req.json_field("message"),
                   "html_url": f"{world.web_url}/{r.full_name}/commit/{commit}"},
    })


@route(ROUTES, "GET", REPO + r"/git/ref/heads/(.+)")
def get_ref(world: World, req: Req) -> Resp:
    branch = req.args[0]
    return Resp(200, shapes.ref(world, req.r, branch)) if branch in req.r.branches else not_found()


@route(ROUTES, "POST", REPO + r"/git/refs")
def create_ref(world: World, req: Req) -> Resp:
    ref, sha = req.json_field("ref"), req.json_field("sha")
    if not isinstance(ref, str) or not ref.startswith("refs/") or ref.count("/") < 2:
        return Resp(422, shapes.error("Reference name must start with 'refs/' and have at "
                                      "least two slashes.", 422))
    if not ref.startswith("refs/heads/"):
        return Resp(422, shapes.error("Only branch refs are supported by this fake", 422))
    if sha not in req.r.commits:
        return Resp(422, shapes.error("Object does not exist", 422))
    branch = ref.removeprefix("refs/heads/")
    if branch in req.r.branches:
        return Resp(422, shapes.error("Reference already exists", 422))
    req.r.branches[branch] = sha
    return Resp(201, shapes.ref(world, req.r, branch))


@route(ROUTES, "PATCH", REPO + r"/git/refs/heads/(.+)")
def update_ref(world: World, req: Req) -> Resp:
    branch, sha = req.args[0], req.json_field("sha")
    if branch not in req.r.branches:
        return Resp(422, shapes.error("Reference does not exist", 422))
    if sha not in req.r.commits:
        return Resp(422, shapes.error("Object does not exist", 422))
    req.r.branches[branch] = sha
    return Resp(200, shapes.ref(world, req.r, branch))


@route(ROUTES, "DELETE", REPO + r"/git/refs/heads/(.+)")
def delete_ref(world: World, req: Req) -> Resp:
    if req.r.branches.pop(req.args[0], None) is None:
        return Resp(422, shapes.error("Reference does not exist", 422))
    return Resp(204)


@route(ROUTES, "POST", REPO + r"/pulls")
def create_pull(world: World, req: Req) -> Resp:
    r = req.r
    head = str(req.json_field("head") or "").split(":")[-1]
    base = str(req.json_field("base") or "")
    if not isinstance(req.json_field("title"), str):
        return invalid("PullRequest", "title", "missing_field")
    if head not in r.branches:
        return invalid("PullRequest", "head", "invalid")
    if base not in r.branches:
        return invalid("PullRequest", "base", "invalid")
    if r.branches[head] == r.branches[base]:
        return invalid("PullRequest", "base", "custom", f"No commits between {base} and {head}")
    for i in r.issues.values():
        if i.pull and i.state == "open" and (i.pull.head, i.pull.base) == (head, base):
            return invalid("PullRequest", "head", "custom",
                           f"A pull request already exists for {r.owner}:{head}.")
    issue = ops.open_pull(world, r, req.actor or world.bot, head=head, base=base,
                          title=req.json_field("title"), body=req.json_field("body"),
                          draft=bool(req.json_field("draft")))
    return Resp(201, shapes.pull(world, r, issue))


@route(ROUTES, "GET", REPO + r"/pulls")
def list_pulls(world: World, req: Req) -> Resp:
    state = req.query.get("state", "open")
    head = req.query.get("head", "").split(":")[-1]
    base = req.query.get("base")
    found = [
        i for i in sorted(req.r.issues.values(), key=lambda i: i.number, reverse=True)
        if i.pull and (state == "all" or i.state == state)
        and (not head or i.pull.head == head) and (not base or i.pull.base == base)
    ]
    return page(req, [shapes.pull(world, req.r, i) for i in found])


@route(ROUTES, "GET", REPO + r"/pulls/(\d+)")
def get_pull(world: World, req: Req) -> Resp:
    issue = req.r.issues.get(int(req.args[0]))
    if issue is None or issue.pull is None:
        return not_found()
    return Resp(200, shapes.pull(world, req.r, issue))


@route(ROUTES, "PUT", REPO + r"/pulls/(\d+)/merge")
def merge_pull(world: World, req: Req) -> Resp:
    issue = req.r.issues.get(int(req.args[0]))
    if issue is None or issue.pull is None:
        return not_found()
    if issue.pull.merged or issue.state != "open":
        return Resp(405, shapes.error("Pull Request is not mergeable", 405))
    sha = ops.merge_pull(world, req.r, issue, req.actor or world.bot)
    return Resp(200, {"sha": sha, "merged": True, "message": "Pull Request successfully merged"})


def _check_run_json(world: World, r: Repo, run: dict[str, object]) -> dict[str, object]:
    return {**run, "html_url": f"{world.web_url}/{r.full_name}/runs/{run['id']}",
            "app": shapes.app(world)}


@route(ROUTES, "POST", REPO + r"/check-runs")
def create_check_run(world: World, req: Req) -> Resp:
    if not isinstance(req.json_field("name"), str) or req.json_field("head_sha") is None:
        return invalid("CheckRun", "name", "missing_field")
    body = req.body if isinstance(req.body, dict) else {}
    run = {"status": "queued", "conclusion": None, **body, "id": world.next_id()}
    if run.get("conclusion") is not None:
        run["status"] = "completed"
    req.r.check_runs[int(run["id"])] = run
    return Resp(201, _check_run_json(world, req.r, run))


@route(ROUTES, "PATCH", REPO + r"/check-runs/(\d+)")
def update_check_run(world: World, req: Req) -> Resp:
    run = req.r.check_runs.get(int(req.args[0]))
    if run is None:
        return not_found()
    run.update(req.body if isinstance(req.body, dict) else {})
    if run.get("conclusion") is not None:
        run["status"] = "completed"
    return Resp(200, _check_run_json(world, req.r, run))


@route(ROUTES, "GET", REPO + r"/actions/runs/(\d+)(?:/attempts/\d+)?/jobs")
def list_jobs(world: World, req: Req) -> Resp:
    jobs = req.r.workflow_jobs.get(int(req.args[0]))
    return not_found() if jobs is None else page(req, jobs, wrapper="jobs")


@route(ROUTES, "GET", REPO + r"/milestones")
def list_milestones(world: World, req: Req) -> Resp:
    state = req.query.get("state", "open")
    return page(req, [m for m in req.r.milestones if state == "all" or m["state"] == state])


@route(ROUTES, "GET", r"/app", auth="app")
def get_app(world: World, req: Req) -> Resp:
    return Resp(200, shapes.app(world))


@route(ROUTES, "GET", REPO + r"/installation", auth="app")
def get_repo_installation(world: World, req: Req) -> Resp:
    r = req.r
    return Resp(200, {"id": r.installation_id, "app_id": world.app_id,
                      "app_slug": world.app_slug,
                      "account": shapes.user(world, Actor(r.owner, "Organization"))})
