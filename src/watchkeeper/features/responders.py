"""Responders work the incident in its issue: ticks, severity labels, roles, commands.

The thin I/O shell around watchkeeper.lifecycle: parse the payload, find the incident the
issue tracks, ask GitHub for the actor's permission only when the decision depends on it,
decide purely, and hand the Decision to the pipeline (which stores and executes it).
"""

from __future__ import annotations

import dataclasses
import logging
from typing import TYPE_CHECKING, Any

from watchkeeper.lifecycle import (
    decide_comment,
    decide_issue_event,
    may_write,
    needs_permission,
    parse_issue_comment,
    parse_issues,
    pending_commands,
)
from watchkeeper.lifecycle.events import IssueEvent
from watchkeeper.lifecycle.severity import label_level
from watchkeeper.record import Incident
from watchkeeper.store.base import Delivery

if TYPE_CHECKING:
    from watchkeeper.pipeline import Pipeline
    from watchkeeper.wiring import Runtime

log = logging.getLogger("watchkeeper.features.responders")


def install(runtime: Runtime) -> None:
    runtime.pipeline.on("issues", on_issues)
    runtime.pipeline.on("issue_comment", on_issue_comment)


async def on_issues(pipeline: Pipeline, delivery: Delivery, payload: dict[str, Any]) -> None:
    event = parse_issues(payload)
    if event is None:
        return
    incident = await pipeline.store.incident_for_issue(event.issue.repo, event.issue.number)
    if incident is None:
        return
    allowed = needs_permission(incident, event) and await _may_write(
        pipeline, incident, event.actor)
    event = await _fresh_labels(pipeline, incident, event)
    config = await pipeline.config_for(incident.installation_id, incident.repo)
    decision = decide_issue_event(incident, event, config, pipeline.clock.now(),
                                  allowed=allowed)
    await pipeline.apply(incident, decision, first_attempt=delivery.attempts <= 1)


async def on_issue_comment(pipeline: Pipeline, delivery: Delivery,
                           payload: dict[str, Any]) -> None:
    event = parse_issue_comment(payload)
    if event is None:
        return
    incident = await pipeline.store.incident_for_issue(event.issue.repo, event.issue.number)
    if incident is None or not pending_commands(incident, event):
        return  # most comments are conversation: no GitHub call for them
    allowed = await _may_write(pipeline, incident, event.actor)
    if not allowed:
        log.info("refused commands from %s on incident %s", event.actor, incident.id)
    config = await pipeline.config_for(incident.installation_id, incident.repo)
    decision = decide_comment(incident, event, config, pipeline.clock.now(), allowed=allowed)
    await pipeline.apply(incident, decision, first_attempt=delivery.attempts <= 1)


async def _may_write(pipeline: Pipeline, incident: Incident, login: str) -> bool:
    """Write, maintain or admin on the repository holding the incident issue."""
    if pipeline.gateway is None or incident.installation_id is None:
        return False
    role = await pipeline.gateway.get_permission(incident.installation_id,
                                                 incident.tracker_repo, login)
    return may_write(role)


async def _fresh_labels(pipeline: Pipeline, incident: Incident, event: IssueEvent
                        ) -> IssueEvent:
    """Before restoring a removed severity label, look at the issue's labels now: a person
    swapping labels by hand (remove, then add) has already added the new one."""
    if (event.action != "unlabeled" or label_level(event.label) != incident.severity
            or pipeline.gateway is None or incident.installation_id is None):
        return event
    view = await pipeline.gateway.get_issue(incident.installation_id, event.issue.repo,
                                            event.issue.number)
    return dataclasses.replace(event, issue=dataclasses.replace(event.issue,
                                                                labels=view.labels))
