"""Closing incidents, the I/O shell (decisions in watchkeeper/closure/).

- `issues.closed` on an incident issue: record the close and check the Definition of Done,
  commit the postmortem and open its pull request, then tell the issue (three steps, each
  stored before the next; see closure/decide.py).
- `pull_request.closed` + merged from a postmortem branch: the postmortem is published; its
  preventive actions become follow-up issues; the Definition of Done is checked again.

Runs on the postmortem branches never open incidents: the policy ignores `watchkeeper/`
branches (runbook/policy.py).
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import TYPE_CHECKING, Any

from watchkeeper.closure.actions import CreateFollowUp, PublishPostmortem
from watchkeeper.closure.decide import (
    announce_close,
    announce_merge,
    close_key,
    on_closed,
    on_merged,
    postmortem_path,
    postmortem_step,
)
from watchkeeper.closure.events import issue_closed, pull_merged
from watchkeeper.errors import PermanentError, RetryableError
from watchkeeper.github.postmortem_pr import ClosureActions
from watchkeeper.logs import bind
from watchkeeper.pipeline import Pipeline
from watchkeeper.record import Incident
from watchkeeper.signals.payload import timestamp
from watchkeeper.store.base import Delivery

if TYPE_CHECKING:
    from watchkeeper.wiring import Runtime

log = logging.getLogger("watchkeeper.features.closure")
# A just-merged file can briefly be invisible (reads lag writes): retry this many times first.
FILE_ATTEMPTS = 3
FILE_WAIT = 5.0


async def _reload(pipeline: Pipeline, incident: Incident) -> Incident:
    return await pipeline.store.get_incident(incident.id) or incident


async def _commit_time(pipeline: Pipeline, incident: Incident) -> datetime | None:
    """The offending commit's time: from the signal's facts, else GitHub's commit."""
    if incident.closure.commit_time is not None:
        return incident.closure.commit_time
    known = timestamp(dict(incident.facts).get("head_commit_timestamp"))
    if known is not None or not incident.commit_sha or incident.installation_id is None \
            or pipeline.gateway is None:
        return known
    try:
        return await pipeline.gateway.get_commit_time(incident.installation_id, incident.repo,
                                                      incident.commit_sha)
    except PermanentError as exc:
        log.info("commit time of %s unknown: %s", incident.id, exc)
        return None


async def on_issue(pipeline: Pipeline, delivery: Delivery, payload: dict[str, Any]) -> None:
    event = issue_closed(payload)
    if event is None:
        return
    incident = await pipeline.store.incident_for_issue(event.repo, event.number)
    if incident is None:
        return
    first = delivery.attempts <= 1
    now = pipeline.clock.now()
    key = close_key(event, delivery.delivery_id)
    with bind(incident_id=incident.id):
        config = await pipeline.config_for(incident.installation_id, incident.repo)
        before_status = incident.status
        commit_time = None if incident.done(key) or not event.completed else \
            await _commit_time(pipeline, incident)
        await pipeline.apply(incident, on_closed(incident, event, config, now, key=key,
                                                 commit_time=commit_time), first_attempt=first)
        incident = await _reload(pipeline, incident)
        await pipeline.apply(incident, postmortem_step(incident, config, now, key=key),
                             first_attempt=first)
        incident = await _reload(pipeline, incident)
        await pipeline.apply(incident, announce_close(
            incident, config, now, key=key, before_status=before_status, labels=event.labels),
            first_attempt=first)


async def on_pull(pipeline: Pipeline, delivery: Delivery, payload: dict[str, Any]) -> None:
    event = pull_merged(payload)
    if event is None:
        return
    incident = await pipeline.store.get_incident(event.incident_id)
    if incident is None or incident.tracker_repo.lower() != event.repo.lower():
        return
    if event.head_repo is not None and event.head_repo.lower() != event.repo.lower():
        return  # a fork's branch that merely carries the name
    known = incident.closure.postmortem_pr
    if (known is not None and known != event.number) or (
            known is None and event.author != f"{pipeline.app_slug}[bot]"):
        return  # not the pull request Watchkeeper opened
    first = delivery.attempts <= 1
    now = pipeline.clock.now()
    with bind(incident_id=incident.id):
        config = await pipeline.config_for(incident.installation_id, incident.repo)
        text = None
        if not incident.done(f"published:{event.number}"):
            text = await _merged_file(pipeline, incident, event.base_ref, event.merge_sha,
                                      incident.closure.postmortem_path
                                      or postmortem_path(incident, config), delivery)
        await pipeline.apply(incident, on_merged(incident, event, config, now, text),
                             first_attempt=first)
        incident = await _reload(pipeline, incident)
        await pipeline.apply(incident, announce_merge(incident, config, now,
                                                      number=event.number, text=text),
                             first_attempt=first)


async def _merged_file(pipeline: Pipeline, incident: Incident, base: str, merge_sha: str | None,
                       path: str, delivery: Delivery) -> str | None:
    """The postmortem as merged (the default branch), read after the merge."""
    gateway, inst = pipeline.gateway, incident.installation_id
    if gateway is None or inst is None:
        return None
    for ref in (base, merge_sha):
        if ref:
            text = await gateway.get_file_text(inst, incident.tracker_repo, path, ref=ref)
            if text is not None:
                return text
    if delivery.attempts < FILE_ATTEMPTS:
        raise RetryableError(f"{path} not readable on {base} yet", retry_after=FILE_WAIT)
    log.warning("postmortem %s of %s not found after the merge", path, incident.id)
    return None


def install(runtime: Runtime) -> None:
    actions = ClosureActions(runtime.gateway)
    runtime.pipeline.executor.register(PublishPostmortem, actions.publish)
    runtime.pipeline.executor.register(CreateFollowUp, actions.create_followup)
    runtime.pipeline.on("issues", on_issue)
    runtime.pipeline.on("pull_request", on_pull)
