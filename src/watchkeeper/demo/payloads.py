"""Deliveries GitHub sends that no action inside the simulated GitHub produces: a finished
workflow run, a deployment status. Built from the octokit-derived templates, with the
repository, accounts and installation in the simulated GitHub's own shapes (the same JSON
its other webhooks carry), and the jobs a failed run lists."""

from __future__ import annotations

from typing import Any

from watchkeeper.demo import templates
from watchkeeper.github.fake import FakeGitHub
from watchkeeper.github.fake.shapes import repo as repo_shape
from watchkeeper.github.fake.shapes import ts, user
from watchkeeper.github.fake.state import Actor, Repo


def _envelope(fake: FakeGitHub, r: Repo, sender: str) -> dict[str, Any]:
    world = fake.world
    return {
        "repository": repo_shape(world, r),
        "organization": {"login": r.owner, "id": world.user_id(r.owner),
                         "url": f"{world.api_url}/orgs/{r.owner}"},
        "sender": user(world, Actor(sender)),
        "installation": {"id": r.installation_id, "node_id": f"IN_{r.installation_id}"},
    }


def workflow_run(fake: FakeGitHub, repo: str, *, run_id: int, name: str, path: str,
                 conclusion: str, branch: str, sha: str, actor: str, event: str = "push",
                 pull: int | None = None) -> dict[str, Any]:
    """`workflow_run.completed` for a run of ``path`` on ``branch`` at ``sha``."""
    world, r = fake.world, fake.repo(repo)
    payload = templates.workflow_run_completed()
    api = f"{world.api_url}/repos/{r.full_name}"
    web = f"{world.web_url}/{r.full_name}"
    now = ts(world.now())
    workflow = payload["workflow"]
    workflow.update(name=name, path=path, html_url=f"{web}/blob/{r.default_branch}/{path}",
                    url=f"{api}/actions/workflows/{workflow['id']}",
                    badge_url=f"{web}/workflows/{name}/badge.svg")
    meta = r.commit_meta.get(sha, {})
    message = meta.get("message") or name
    run = payload["workflow_run"]
    run_api = f"{api}/actions/runs/{run_id}"
    run.update(
        id=run_id, name=name, path=path, conclusion=conclusion, event=event,
        head_branch=branch, head_sha=sha, display_title=message.splitlines()[0],
        html_url=f"{web}/actions/runs/{run_id}", url=run_api, jobs_url=f"{run_api}/jobs",
        logs_url=f"{run_api}/logs", artifacts_url=f"{run_api}/artifacts",
        cancel_url=f"{run_api}/cancel", rerun_url=f"{run_api}/rerun",
        check_suite_url=f"{api}/check-suites/{run['check_suite_id']}",
        workflow_url=workflow["url"], run_number=run_id % 1000, created_at=now,
        run_started_at=now, updated_at=now,
        repository=repo_shape(world, r), head_repository=repo_shape(world, r),
        actor=user(world, Actor(actor)), triggering_actor=user(world, Actor(actor)),
        head_commit={"id": sha, "message": message, "timestamp": ts(meta.get("date")),
                     "author": {"name": actor, "email": f"{actor}@users.noreply.github.com"},
                     "committer": {"name": actor,
                                   "email": f"{actor}@users.noreply.github.com"}},
        pull_requests=[_run_pull(fake, r, pull)] if pull is not None else [],
    )
    return {**payload, **_envelope(fake, r, actor)}


def _run_pull(fake: FakeGitHub, r: Repo, number: int) -> dict[str, Any]:
    pr = r.issues[number].pull
    assert pr is not None
    api = f"{fake.world.api_url}/repos/{r.full_name}"
    ends = {"id": r.id, "url": api, "name": r.name}
    return {"url": f"{api}/pulls/{number}", "id": r.issues[number].id, "number": number,
            "head": {"ref": pr.head, "sha": r.branches.get(pr.head, pr.head_sha), "repo": ends},
            "base": {"ref": pr.base, "sha": r.branches.get(pr.base, pr.base_sha), "repo": ends}}


def deployment_status(fake: FakeGitHub, repo: str, *, deployment_id: int, sha: str,
                      environment: str, state: str, creator: str) -> dict[str, Any]:
    """`deployment_status.created`: deployment ``deployment_id`` of ``sha`` reached ``state``."""
    world, r = fake.world, fake.repo(repo)
    payload = templates.deployment_status_created()
    api = f"{world.api_url}/repos/{r.full_name}"
    now = ts(world.now())
    deployment = payload["deployment"]
    deployment.update(
        id=deployment_id, sha=sha, ref=r.default_branch, environment=environment,
        original_environment=environment, created_at=now, updated_at=now,
        url=f"{api}/deployments/{deployment_id}", repository_url=api,
        statuses_url=f"{api}/deployments/{deployment_id}/statuses",
        creator=user(world, Actor(creator)))
    status = payload["deployment_status"]
    status_id = deployment_id * 10 + 1
    status.update(
        id=status_id, state=state, environment=environment, created_at=now, updated_at=now,
        creator=user(world, Actor(creator)), repository_url=api,
        deployment_url=deployment["url"], url=f"{deployment['url']}/statuses/{status_id}",
        target_url=f"https://deploy.example.com/{environment}/{deployment_id}",
        description=f"Deployed {sha[:7]} to {environment}")
    return {**payload, **_envelope(fake, r, creator)}


def failed_job(fake: FakeGitHub, repo: str, *, run_id: int, job_id: int, name: str,
               failed_step: str) -> dict[str, Any]:
    """A job object as the jobs API lists it: set-up and checkout passed, one step failed."""
    world, r = fake.world, fake.repo(repo)
    now = ts(world.now())
    steps = [("Set up job", "success"), ("Check out the repository", "success"),
             (failed_step, "failure"), ("Complete job", "success")]
    return {
        "id": job_id, "run_id": run_id, "run_attempt": 1, "name": name,
        "status": "completed", "conclusion": "failure", "started_at": now,
        "completed_at": now, "labels": ["ubuntu-latest"],
        "url": f"{world.api_url}/repos/{r.full_name}/actions/jobs/{job_id}",
        "html_url": f"{world.web_url}/{r.full_name}/actions/runs/{run_id}/job/{job_id}",
        "steps": [{"name": step, "status": "completed", "conclusion": conclusion,
                   "number": number, "started_at": now, "completed_at": now}
                  for number, (step, conclusion) in enumerate(steps, start=1)],
    }
