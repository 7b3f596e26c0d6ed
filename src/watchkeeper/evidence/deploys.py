"""Deployments that carry a fix: "fix deployed" (or a failed deployment of it).

A deployment carries a fix when its commit is a fix candidate's merge or head commit, or
descends from one (the feature shell asks GitHub's compare API for the latter and passes the
answer in). Deployments without a fix are not incident evidence and are ignored.
"""

from __future__ import annotations

from datetime import datetime

from watchkeeper.evidence.facts import DeploymentFacts
from watchkeeper.evidence.records import fix_commits, identifier, with_entry, with_evidence
from watchkeeper.incident import Decision, update_sections
from watchkeeper.record import Evidence, Incident, TimelineEntry
from watchkeeper.runbook.model import Config

_FAILED = {"failure": "failed", "error": "errored"}


def direct_fix(incident: Incident, deployment: DeploymentFacts) -> Evidence | None:
    """The fix candidate whose commit is exactly the deployed one."""
    if deployment.repo.lower() != incident.repo.lower():
        return None
    return fix_commits(incident).get(deployment.sha)


def commits_to_compare(incident: Incident, deployment: DeploymentFacts
                       ) -> list[tuple[str, Evidence]]:
    """(fix commit, its pull request) pairs worth asking GitHub about: is the deployed
    commit the fix commit or a descendant of it? Merge commits first."""
    if deployment.repo.lower() != incident.repo.lower():
        return []
    return [(sha, pull) for sha, pull in fix_commits(incident).items() if sha != deployment.sha]


def _label(incident: Incident, pull: Evidence) -> str:
    pr = identifier(pull, "pr") or "?"
    repo, _, number = pr.rpartition("#")
    return f"pull request #{number}" if repo.lower() == incident.tracker_repo.lower() \
        else f"pull request {pr}"


def decide_deployment(incident: Incident, deployment: DeploymentFacts, fix: Evidence | None,
                      config: Config, now: datetime) -> Decision:
    """Record a deployment of `fix` (None: the deployment carries no fix). Pure."""
    if fix is None:
        return Decision(incident, ())
    dep, pr = deployment, identifier(fix, "pr") or ""
    ids = (("deployment_id", str(dep.deployment_id)), ("environment", dep.environment),
           ("sha", dep.sha), ("state", dep.state), ("fix", pr))
    item = Evidence(key=f"deployment:{dep.deployment_id}", kind="deployment",
                    title=f"Deployment to {dep.environment} ({dep.state})", url=dep.url,
                    identifiers=ids, at=dep.at)
    label = _label(incident, fix)
    if dep.state == "success":
        text = (f"Fix deployed to {dep.environment}: deployment {dep.deployment_id} of commit "
                f"{dep.sha[:12]} includes {label}")
    else:
        text = (f"Deployment {dep.deployment_id} to {dep.environment} of commit {dep.sha[:12]} "
                f"(includes {label}) {_FAILED.get(dep.state, dep.state)}")
    data = (*ids[:4], ("fix", "true"), ("pr", pr))
    entry = TimelineEntry(dep.at, dep.creator or "watchkeeper", "deployment", text, url=dep.url,
                          key=f"deployment:{dep.deployment_id}:{dep.state}", data=data)
    updated = with_entry(with_evidence(incident, item), entry)
    if updated == incident:
        return Decision(incident, ())
    return Decision(updated, (update_sections(updated, config, now, "evidence", "timeline"),))
