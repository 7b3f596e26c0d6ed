"""Webhook payloads for the evidence tests: octokit's examples, adjusted where noted.

Every example comes from Codertocat/Hello-World (or similar); the repository, installation,
numbers, SHAs and times are set to the test's story. Fields the examples lack are added with a
comment saying so.
"""

from __future__ import annotations

import copy
from typing import Any

from tests.support import INSTALLATION, REPO, failing_secret_scan, load_payload

OWNER, NAME = REPO.split("/")
INSTALLATION_BLOCK = {"id": INSTALLATION, "node_id": "MDIzOkludGVncmF0aW9uSW5zdGFsbGF0aW9uNw=="}


def _repository(payload: dict[str, Any], default_branch: str = "master") -> None:
    repo = payload["repository"]
    repo.update(name=NAME, full_name=REPO, default_branch=default_branch, private=True,
                html_url=f"https://github.com/{REPO}")
    repo["owner"]["login"] = OWNER
    payload["installation"] = dict(INSTALLATION_BLOCK)


def pull_request(action: str, *, number: int, title: str, body: str | None, head_ref: str,
                 head_sha: str, at: str, created_at: str | None = None, login: str = "octocat",
                 merged: bool = False, merge_sha: str | None = None, base_ref: str = "master"
                 ) -> dict[str, Any]:
    """A `pull_request` delivery from octokit's example for the action.

    Adjusted: no example shows a merged pull request, so for `merged=True` the `closed`
    example gets `merged: true`, `merged_at` and the merge commit SHA; `edited` has no
    example, so it is the `opened` one with the action changed (plus GitHub's `changes`).
    """
    source = {"edited": "opened", "merged": "closed"}.get(action, action)
    payload = copy.deepcopy(load_payload("pull_request", f"{source}.payload"))
    payload["action"] = action
    if action == "edited":
        payload["changes"] = {"body": {"from": ""}}
    _repository(payload)
    pr = payload["pull_request"]
    pr.update(number=number, title=title, body=body, created_at=created_at or at, updated_at=at,
              html_url=f"https://github.com/{REPO}/pull/{number}",
              url=f"https://api.github.com/repos/{REPO}/pulls/{number}")
    pr["user"]["login"] = login
    payload["number"] = number
    payload["sender"]["login"] = login
    pr["head"].update(ref=head_ref, sha=head_sha, label=f"{OWNER}:{head_ref}")
    pr["base"]["ref"] = base_ref
    for end in (pr["head"], pr["base"]):
        end["repo"].update(name=NAME, full_name=REPO)
    if action in ("closed", "merged"):
        pr.update(state="closed", closed_at=at, merged=merged,
                  merged_at=at if merged else None, merge_commit_sha=merge_sha)
    else:
        pr.update(state="open", closed_at=None, merged=False, merged_at=None)
    if action == "merged":
        payload["action"] = "closed"
    return payload


def workflow_run(*, run_id: int, conclusion: str, branch: str, sha: str, at: str,
                 name: str = "CI", path: str = ".github/workflows/ci.yml") -> dict[str, Any]:
    """octokit's workflow_run/completed example, for any workflow and conclusion
    (adjusted: name, path, ids, branch, SHA, time; the installation added)."""
    payload = failing_secret_scan(run_id=run_id, updated_at=at)
    run = payload["workflow_run"]
    run.update(conclusion=conclusion, head_branch=branch, head_sha=sha, name=name, path=path,
               pull_requests=[])
    payload["workflow"].update(name=name, path=path)
    return payload


def secret_scan_run(*, run_id: int, conclusion: str, sha: str, at: str) -> dict[str, Any]:
    payload = failing_secret_scan(run_id=run_id, updated_at=at)
    payload["workflow_run"].update(conclusion=conclusion, head_sha=sha)
    return payload


def deployment_status(*, deployment_id: int, state: str, sha: str, at: str,
                      environment: str = "production") -> dict[str, Any]:
    """octokit's deployment_status example with an installation (adjusted: state, ids, SHA,
    environment and times; a https target URL added, the example's is empty)."""
    payload = copy.deepcopy(load_payload("deployment_status", "with-installation.payload"))
    _repository(payload)
    status = payload["deployment_status"]
    status.update(state=state, environment=environment, created_at=at, updated_at=at,
                  id=deployment_id * 10 + 1,
                  target_url=f"https://deploy.example.com/{environment}/{deployment_id}")
    payload["deployment"].update(id=deployment_id, sha=sha, environment=environment,
                                 created_at=at, updated_at=at)
    return payload


def failed_job(*, job_id: int, run_id: int, at: str) -> dict[str, Any]:
    """A job object as the jobs API returns it: the `workflow_job` of octokit's
    workflow_job/completed failure example (adjusted: ids, URL and times)."""
    payload = load_payload("workflow_job", "completed.failure.with-organization.payload")
    job = copy.deepcopy(payload["workflow_job"])
    job.update(id=job_id, run_id=run_id, html_url=f"https://github.com/{REPO}/runs/{job_id}",
               completed_at=at)
    for step in job["steps"]:
        step["completed_at"] = at
    return job


def secret_alert(action: str, *, number: int = 191, at: str, **fields: Any) -> dict[str, Any]:
    """octokit's only secret_scanning_alert example (`reopened`), for any action.

    Adjusted: the example's alert has no times, URL or validity; GitHub's alert objects carry
    `created_at` / `updated_at` (and `resolved_at`, `validity` where they apply), so they are
    set here along with the action and the given fields.
    """
    payload = copy.deepcopy(load_payload("secret_scanning_alert", "reopened.payload"))
    payload["action"] = action
    _repository(payload)
    payload["alert"].update(number=number, created_at="2026-11-27T09:00:00Z", updated_at=at,
                            html_url=f"https://github.com/{REPO}/security/secret-scanning/"
                                     f"{number}", **fields)
    return payload
