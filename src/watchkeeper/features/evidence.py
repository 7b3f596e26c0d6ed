"""Evidence collection: pull requests, workflow runs, deployments and alert changes.

The I/O shell around watchkeeper/evidence: each handler parses its event purely, finds the
open incidents of the event's repository, asks GitHub for what the decision needs (a failed
run's jobs, whether a deployed commit contains a fix) and applies the pure decision. Runs
after the security signal router, so an incident opened by this very delivery is found.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from watchkeeper.evidence.alerts import decide_alert_change
from watchkeeper.evidence.deploys import commits_to_compare, decide_deployment, direct_fix
from watchkeeper.evidence.facts import deployment_event, failed_steps, pull_event, run_event
from watchkeeper.evidence.pulls import decide_pull, is_linked
from watchkeeper.evidence.records import has_entry
from watchkeeper.evidence.runs import decide_run, needs_jobs, run_role
from watchkeeper.record import Incident
from watchkeeper.runbook.policy import related_fingerprints
from watchkeeper.signals.payload import MalformedPayload
from watchkeeper.store.base import Delivery

if TYPE_CHECKING:
    from watchkeeper.pipeline import Pipeline
    from watchkeeper.wiring import Runtime

log = logging.getLogger("watchkeeper.evidence")

ALERT_EVENTS = ("code_scanning_alert", "secret_scanning_alert", "dependabot_alert")
CONTAINS = ("identical", "ahead")  # compare(fix...deployed): the deployment has the fix


async def open_incidents_of(pipeline: Pipeline, repo: str) -> list[Incident]:
    """Open incidents about the repository that have their issue."""
    repo = repo.lower()
    return [i for i in await pipeline.store.list_incidents(open_only=True)
            if i.repo.lower() == repo and i.issue_number is not None]


def _first(delivery: Delivery) -> bool:
    return delivery.attempts <= 1


async def on_pull_request(pipeline: Pipeline, delivery: Delivery, payload: dict[str, Any]
                          ) -> None:
    try:
        pull = pull_event(payload, received_at=delivery.received_at)
    except MalformedPayload as exc:
        log.warning("pull_request payload not usable as evidence: %s", exc)
        return
    if pull is None:
        return
    now = pipeline.clock.now()
    for incident in await open_incidents_of(pipeline, pull.repo):
        if not is_linked(incident, pull):
            continue
        config = await pipeline.config_for(incident.installation_id, incident.repo)
        await pipeline.apply(incident, decide_pull(incident, pull, config, now),
                             first_attempt=_first(delivery))


async def on_workflow_run(pipeline: Pipeline, delivery: Delivery, payload: dict[str, Any]
                          ) -> None:
    try:
        run = run_event(payload, received_at=delivery.received_at)
    except MalformedPayload as exc:
        log.warning("workflow_run payload not usable as evidence: %s", exc)
        return
    if run is None:
        return
    now = pipeline.clock.now()
    for incident in await open_incidents_of(pipeline, run.repo):
        if run_role(incident, run) is None:
            continue
        steps = None
        installation = run.installation_id or incident.installation_id
        if needs_jobs(incident, run) and installation is not None and pipeline.gateway:
            jobs = await pipeline.gateway.list_workflow_jobs(installation, run.repo, run.run_id,
                                                             run.attempt)
            steps = failed_steps(jobs)
        config = await pipeline.config_for(incident.installation_id, incident.repo)
        await pipeline.apply(incident, decide_run(incident, run, config, now, steps),
                             first_attempt=_first(delivery))


async def on_deployment_status(pipeline: Pipeline, delivery: Delivery,
                               payload: dict[str, Any]) -> None:
    try:
        deployment = deployment_event(payload, received_at=delivery.received_at)
    except MalformedPayload as exc:
        log.warning("deployment_status payload not usable as evidence: %s", exc)
        return
    if deployment is None:
        return
    now = pipeline.clock.now()
    key = f"deployment:{deployment.deployment_id}:{deployment.state}"
    for incident in await open_incidents_of(pipeline, deployment.repo):
        if has_entry(incident, key):
            continue
        fix = direct_fix(incident, deployment)
        installation = deployment.installation_id or incident.installation_id
        if fix is None and installation is not None and pipeline.gateway is not None:
            for sha, pull in commits_to_compare(incident, deployment):
                status = await pipeline.gateway.compare_commits(installation, deployment.repo,
                                                                sha, deployment.sha)
                if status in CONTAINS:
                    fix = pull
                    break
        if fix is None:
            continue
        config = await pipeline.config_for(incident.installation_id, incident.repo)
        await pipeline.apply(incident, decide_deployment(incident, deployment, fix, config, now),
                             first_attempt=_first(delivery))


async def on_alert(pipeline: Pipeline, delivery: Delivery, payload: dict[str, Any]) -> None:
    """Evidence for alert changes the signal router saw (it already raised on a malformed
    payload, before any feature ran)."""
    signals = pipeline.router.route(delivery.event, payload, received_at=delivery.received_at)
    for signal in signals:
        if signal.kind == "detection":
            continue
        config = await pipeline.config_for(signal.installation_id, signal.repo.full_name)
        for fingerprint in related_fingerprints(signal, config):
            incident = await pipeline.store.open_incident_for(fingerprint)
            if incident is None or incident.issue_number is None:
                continue
            decision = decide_alert_change(incident, signal, config, pipeline.clock.now())
            await pipeline.apply(incident, decision, first_attempt=_first(delivery))
            break


def install(runtime: Runtime) -> None:
    pipeline = runtime.pipeline
    pipeline.on("pull_request", on_pull_request)
    pipeline.on("workflow_run", on_workflow_run)
    pipeline.on("deployment_status", on_deployment_status)
    for event in ALERT_EVENTS:
        pipeline.on(event, on_alert)
