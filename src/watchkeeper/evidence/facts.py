"""Facts read from pull request, workflow run, deployment status and job JSON.

Webhook payloads and REST answers share these object shapes, so one parser serves both.
Text fields are untrusted and kept raw; rendering neutralises them. Nothing here reads logs:
a job's failing steps are known by name and number only (logs may carry secrets).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from watchkeeper.signals.payload import (
    MalformedPayload,
    first_time,
    installation_id,
    number,
    opt_flag,
    opt_number,
    opt_section,
    opt_text,
    repository,
    section,
    sender_login,
    timestamp,
)

PULL_ACTIONS = ("opened", "edited", "closed", "reopened", "synchronize", "ready_for_review",
                "converted_to_draft")
FAILED = frozenset({"failure", "timed_out", "startup_failure", "cancelled", "action_required"})
DEPLOYMENT_STATES = ("success", "failure", "error")


@dataclass(frozen=True, slots=True)
class PullFacts:
    repo: str  # the base repository, "owner/name"
    number: int
    title: str
    body: str
    state: str  # "open" | "closed" | "merged"
    at: datetime  # when this state of the pull request was reached
    author: str | None = None
    head_ref: str | None = None
    head_sha: str | None = None
    head_repo: str | None = None  # a fork's full name when the head lives elsewhere
    base_ref: str | None = None
    merge_sha: str | None = None  # only for a merged pull request
    url: str | None = None
    draft: bool = False
    action: str | None = None  # the webhook action; None for a REST answer
    default_branch: str | None = None
    installation_id: int | None = None
    sender: str | None = None  # who acted (the webhook's sender)

    @property
    def key(self) -> str:
        return f"pr:{self.repo}#{self.number}"

    @property
    def ref(self) -> str:
        return f"{self.repo}#{self.number}"

    def texts(self) -> tuple[str, ...]:
        return (self.title, self.body)


def pull_from_json(pr: Mapping[str, Any], repo: str, *, at: datetime | None = None,
                   action: str | None = None) -> PullFacts:
    """A pull request object (webhook `pull_request` or a REST answer)."""
    merged = opt_flag(pr, "merged") is True or (
        opt_text(pr, "merged_at") is not None and opt_text(pr, "state") == "closed")
    state = "merged" if merged else (opt_text(pr, "state") or "open")
    head, base = opt_section(pr, "head"), opt_section(pr, "base")
    head_repo = opt_text(opt_section(head, "repo"), "full_name")
    when = at or timestamp(pr.get("updated_at")) or timestamp(pr.get("created_at"))
    if when is None:
        raise MalformedPayload("pull request has no usable time")
    return PullFacts(
        repo=repo,
        number=number(pr, "number"),
        title=opt_text(pr, "title") or "",
        body=opt_text(pr, "body") or "",
        state=state,
        at=when,
        author=opt_text(opt_section(pr, "user"), "login"),
        head_ref=opt_text(head, "ref"),
        head_sha=opt_text(head, "sha"),
        head_repo=head_repo if head_repo and head_repo.lower() != repo.lower() else None,
        base_ref=opt_text(base, "ref"),
        merge_sha=opt_text(pr, "merge_commit_sha") if merged else None,
        url=opt_text(pr, "html_url"),
        draft=opt_flag(pr, "draft") is True,
        action=action,
    )


_PULL_TIMES = {"opened": ("created_at",), "closed": ("merged_at", "closed_at")}


def pull_event(payload: Mapping[str, Any], *, received_at: datetime | None = None
               ) -> PullFacts | None:
    """A `pull_request` webhook this package cares about, else None."""
    action = payload.get("action")
    if action not in PULL_ACTIONS:
        return None
    pr = section(payload, "pull_request")
    repo = repository(payload)
    at = first_time(pr, (*_PULL_TIMES.get(str(action), ()), "updated_at"), received_at,
                    last_resort=("created_at",))
    facts = pull_from_json(pr, repo.full_name, at=at, action=str(action))
    return replace(facts, default_branch=repo.default_branch,
                   installation_id=installation_id(payload), sender=sender_login(payload))


@dataclass(frozen=True, slots=True)
class RunFacts:
    repo: str
    run_id: int
    attempt: int
    name: str
    path: str | None
    conclusion: str
    at: datetime
    head_branch: str | None = None
    head_sha: str | None = None
    head_repo: str | None = None  # a fork's full name
    url: str | None = None
    pulls: tuple[int, ...] = ()  # open pull requests GitHub associates with the run
    installation_id: int | None = None

    @property
    def signal_key(self) -> str:
        """The event key the workflow_run signal parser gives this run."""
        return f"workflow_run:{self.run_id}:{self.attempt}:{self.conclusion}"

    @property
    def failed(self) -> bool:
        return self.conclusion in FAILED

    @property
    def subject(self) -> str:
        return self.path or self.name


def run_event(payload: Mapping[str, Any], *, received_at: datetime | None = None
              ) -> RunFacts | None:
    """A completed `workflow_run` with a conclusion, else None."""
    if payload.get("action") != "completed":
        return None
    run = section(payload, "workflow_run")
    conclusion = opt_text(run, "conclusion")
    if conclusion is None:
        return None
    workflow = opt_section(payload, "workflow")
    repo = repository(payload)
    path = opt_text(run, "path") or opt_text(workflow, "path")
    name = opt_text(run, "name") or opt_text(workflow, "name") or path or "workflow"
    head_repo = opt_text(opt_section(run, "head_repository"), "full_name")
    pulls = tuple(n for item in run.get("pull_requests") or () if isinstance(item, Mapping)
                  and (n := opt_number(item, "number")) is not None)
    return RunFacts(
        repo=repo.full_name,
        run_id=number(run, "id"),
        attempt=opt_number(run, "run_attempt") or 1,
        name=name,
        path=path,
        conclusion=conclusion,
        at=first_time(run, ("updated_at",), received_at, last_resort=("created_at",)),
        head_branch=opt_text(run, "head_branch"),
        head_sha=opt_text(run, "head_sha"),
        head_repo=head_repo if head_repo and head_repo.lower() != repo.full_name.lower()
        else None,
        url=opt_text(run, "html_url"),
        pulls=pulls,
        installation_id=installation_id(payload),
    )


@dataclass(frozen=True, slots=True)
class DeploymentFacts:
    repo: str
    deployment_id: int
    state: str  # the deployment status: success, failure, error, ...
    environment: str
    sha: str
    at: datetime
    status_id: int | None = None
    ref: str | None = None
    url: str | None = None  # the status's target / log / environment URL
    creator: str | None = None
    installation_id: int | None = None


def deployment_event(payload: Mapping[str, Any], *, received_at: datetime | None = None
                     ) -> DeploymentFacts | None:
    """A `deployment_status` in a final state (success, failure, error), else None."""
    status = section(payload, "deployment_status")
    state = opt_text(status, "state")
    if state not in DEPLOYMENT_STATES:
        return None
    deployment = section(payload, "deployment")
    sha = opt_text(deployment, "sha")
    if sha is None:
        raise MalformedPayload("deployment has no sha")
    url = next((u for key in ("environment_url", "target_url", "log_url")
                if (u := opt_text(status, key)) and u.startswith("https://")), None)
    return DeploymentFacts(
        repo=repository(payload).full_name,
        deployment_id=number(deployment, "id"),
        state=state,
        environment=opt_text(status, "environment") or opt_text(deployment, "environment")
        or "unknown",
        sha=sha,
        at=first_time(status, ("created_at", "updated_at"), received_at),
        status_id=opt_number(status, "id"),
        ref=opt_text(deployment, "ref"),
        url=url,
        creator=opt_text(opt_section(status, "creator"), "login"),
        installation_id=installation_id(payload),
    )


@dataclass(frozen=True, slots=True)
class FailedStep:
    """A failed job, and the step in it that failed (None: the job failed outside a step)."""

    job_id: int
    job_name: str
    conclusion: str
    url: str | None
    at: datetime | None
    step_number: int | None = None
    step_name: str | None = None

    @property
    def key(self) -> str:
        tail = f":step:{self.step_number}" if self.step_number is not None else ""
        return f"job:{self.job_id}{tail}"

    @property
    def link(self) -> str | None:
        """The job's page, scrolled to the failed step (GitHub's `#step:N:1` anchor)."""
        if self.url is None or self.step_number is None:
            return self.url
        return f"{self.url}#step:{self.step_number}:1"


def failed_steps(jobs: Sequence[Mapping[str, Any]], *, limit: int = 10) -> list[FailedStep]:
    """The failed steps of failed jobs, from the jobs API's job objects (names, numbers and
    links only), at most `limit`."""
    found: list[FailedStep] = []
    for job in jobs:
        if not isinstance(job, Mapping) or opt_text(job, "conclusion") not in FAILED:
            continue
        job_id = opt_number(job, "id")
        if job_id is None:
            continue
        base = FailedStep(job_id, opt_text(job, "name") or f"job {job_id}",
                          str(job.get("conclusion")), opt_text(job, "html_url"),
                          timestamp(job.get("completed_at")))
        steps = [s for s in job.get("steps") or () if isinstance(s, Mapping)
                 and opt_text(s, "conclusion") in FAILED]
        if not steps:
            found.append(base)
        for step in steps:
            found.append(FailedStep(base.job_id, base.job_name, str(step.get("conclusion")),
                                    base.url, timestamp(step.get("completed_at")) or base.at,
                                    opt_number(step, "number"), opt_text(step, "name")))
    return found[:limit]
