"""Workflow runs as evidence: the incident's own workflow, and runs on linked pull requests.

Failures and the first success of the workflow that raised the incident (same workflow,
same branch) are occurrences and recoveries, decided by `incident.decide`; here they add
their run to the Evidence section. Runs on a linked pull request (its head commit or
branch) or on a fix's merge commit are evidence with their conclusion and a timeline entry.
A failed run lists its failed jobs and steps (names and links from the jobs API, never logs).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Literal

from watchkeeper.evidence.facts import FailedStep, RunFacts
from watchkeeper.evidence.records import (
    find_evidence,
    has_entry,
    identifier,
    linked_branches,
    linked_commits,
    linked_pulls,
    with_entry,
    with_evidence,
)
from watchkeeper.incident import Decision, coalesced, update_sections
from watchkeeper.record import Evidence, Incident, TimelineEntry
from watchkeeper.runbook.model import Config

ACTOR = "watchkeeper"
Role = Literal["own", "linked"]
_WORDS = {"success": "succeeded", "failure": "failed", "timed_out": "timed out",
          "cancelled": "was cancelled", "skipped": "was skipped", "neutral": "finished (neutral)"}


def word(conclusion: str) -> str:
    return _WORDS.get(conclusion, conclusion.replace("_", " "))


def is_own_run(incident: Incident, run: RunFacts) -> bool:
    """The workflow that raised the incident, on its branch, as decide() recorded it."""
    return (incident.source == "workflow_run" and incident.repo.lower() == run.repo.lower()
            and incident.subject in (run.subject, run.name)
            and incident.branch == run.head_branch and has_entry(incident, run.signal_key))


def linked_pull(incident: Incident, run: RunFacts) -> Evidence | None:
    """The linked pull request the run belongs to (by commit, branch or association)."""
    if run.repo.lower() != incident.repo.lower():
        return None
    if run.head_sha and (found := linked_commits(incident).get(run.head_sha)) is not None:
        return found
    if run.head_branch and run.head_repo is None:
        found = linked_branches(incident).get(run.head_branch)
        if found is not None:
            return found
    for item in linked_pulls(incident):
        pr = identifier(item, "pr") or ""
        repo, _, number = pr.rpartition("#")
        if repo.lower() == run.repo.lower() and number.isdigit() and int(number) in run.pulls:
            return item
    return None


def run_role(incident: Incident, run: RunFacts) -> Role | None:
    if is_own_run(incident, run):
        return "own"
    return "linked" if linked_pull(incident, run) is not None else None


def jobs_key(run: RunFacts) -> str:
    return f"jobs:{run.run_id}:{run.attempt}"


def needs_jobs(incident: Incident, run: RunFacts) -> bool:
    """A failed run that matters to the incident and whose jobs are not listed yet, nor
    those of another failed run of the same commit (it fails the same way: a burst of
    re-runs or scheduled scans of one commit costs one look-up)."""
    if not run.failed or run_role(incident, run) is None or incident.done(jobs_key(run)):
        return False
    return not (run.head_sha and run.head_sha in _commits_looked_up(incident))


def _commits_looked_up(incident: Incident) -> set[str]:
    runs = {key.split(":")[1] for key in incident.done_keys if key.startswith("jobs:")}
    return {sha for item in incident.evidence
            if item.kind == "workflow_run" and identifier(item, "run_id") in runs
            and (sha := identifier(item, "sha"))}


def run_evidence(run: RunFacts, key: str, pr: str | None = None) -> Evidence:
    ids = [("run_id", str(run.run_id)), ("run_attempt", str(run.attempt)),
           ("conclusion", run.conclusion)]
    if run.head_sha:
        ids.append(("sha", run.head_sha))
    if pr:
        ids.append(("pr", pr))
    where = f" on {run.head_branch}" if run.head_branch else ""
    return Evidence(key=key, kind="workflow_run", title=f"Workflow {run.name} "
                    f"{word(run.conclusion)}{where}", url=run.url, identifiers=tuple(ids),
                    at=run.at)


def step_evidence(run: RunFacts, step: FailedStep) -> Evidence:
    ids = [("run_id", str(run.run_id)), ("job_id", str(step.job_id))]
    if step.step_number is not None:
        ids.append(("step", str(step.step_number)))
    ids.append(("conclusion", step.conclusion))
    what = f"{step.job_name} › {step.step_name}" if step.step_name else step.job_name
    return Evidence(key=step.key, kind="workflow_job", title=f"{what} ({word(step.conclusion)})",
                    url=step.link, identifiers=tuple(ids), at=step.at or run.at)


def _where(incident: Incident, run: RunFacts, pull: Evidence) -> str:
    pr = identifier(pull, "pr") or "?"
    repo, _, number = pr.rpartition("#")
    label = f"pull request #{number}" if repo.lower() == incident.tracker_repo.lower() \
        else f"pull request {pr}"
    if run.head_sha and run.head_sha == identifier(pull, "merge_sha"):
        return f"the merge commit of {label}"
    return label


def decide_run(incident: Incident, run: RunFacts, config: Config, now: datetime,
               steps: Sequence[FailedStep] | None = None) -> Decision:
    """Record the run (and, when `steps` were fetched, its failed steps). Pure."""
    role = run_role(incident, run)
    if role is None:
        return Decision(incident, ())
    updated = incident
    if role == "own":
        if find_evidence(incident, run.signal_key) is None:
            updated = with_evidence(updated, run_evidence(run, run.signal_key))
    else:
        pull = linked_pull(incident, run)
        assert pull is not None
        key = f"run:{run.run_id}:{run.attempt}"
        updated = with_evidence(updated, run_evidence(run, key, identifier(pull, "pr")))
        sha = f" (commit {run.head_sha[:12]})" if run.head_sha else ""
        updated = with_entry(updated, TimelineEntry(
            run.at, ACTOR, "evidence",
            f"Workflow {run.name} {word(run.conclusion)} on {_where(incident, run, pull)}{sha}",
            url=run.url, key=f"{key}:{run.conclusion}"))
    if steps is not None and run.failed:
        for step in steps:
            updated = with_evidence(updated, step_evidence(run, step))
        updated = updated.with_done(jobs_key(run))
    if updated == incident:
        return Decision(incident, ())
    if (updated.evidence, updated.timeline) == (incident.evidence, incident.timeline):
        return Decision(updated, ())  # only bookkeeping (jobs looked up): nothing to show
    sections = ("evidence",) if role == "own" else ("evidence", "timeline")
    if role == "own" and (deferred := coalesced(updated, now, *sections)) is not None:
        return Decision(deferred, ())  # the failing run's own steps: shown with its burst
    return Decision(updated, (update_sections(updated, config, now, *sections,
                                              deferrable=role == "own"),))
