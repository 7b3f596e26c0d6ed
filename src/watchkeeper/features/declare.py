"""People declaring incidents (issues adopted as incidents) and issues reopened.

`issues.opened` with the `incident` label or from the incident form, and
`issues.labeled` adding `incident`, adopt the issue unless it already is an incident;
`issues.reopened` reopens a closed incident's record. The decisions are pure
(watchkeeper.declare); this shell reads the store and the issue as it is now.
"""

from __future__ import annotations

import dataclasses
import logging
from typing import TYPE_CHECKING, Any, Literal

from watchkeeper.declare.adopt import (
    SEVERITY_SOURCES,
    SOURCE,
    SeveritySource,
    adopt,
    adoption_actions,
    declared_fingerprint,
)
from watchkeeper.declare.reopen import reopen
from watchkeeper.declare.report import (
    INCIDENT_LABEL,
    Report,
    added_label,
    declares_incident,
    read_report,
)
from watchkeeper.errors import PermanentError
from watchkeeper.incident import Decision
from watchkeeper.record import Incident
from watchkeeper.render.markers import read_incident_id
from watchkeeper.signals.payload import MalformedPayload, timestamp
from watchkeeper.store.base import Delivery

if TYPE_CHECKING:
    from watchkeeper.github.gateway import Gateway
    from watchkeeper.pipeline import Pipeline
    from watchkeeper.wiring import Runtime

log = logging.getLogger("watchkeeper.declare")
Via = Literal["opened", "labeled"]


async def on_issues(pipeline: Pipeline, delivery: Delivery, payload: dict[str, Any]) -> None:
    action = payload.get("action")
    if action not in ("opened", "labeled", "reopened"):
        return
    try:
        report = read_report(payload, delivery.received_at)
    except MalformedPayload as exc:
        raise PermanentError(f"malformed issues payload: {exc}") from exc
    first_attempt = delivery.attempts <= 1
    if action == "reopened":
        await _reopen(pipeline, report, payload, first_attempt)
    elif action == "opened" and declares_incident(report, "opened"):
        await _adopt(pipeline, report, "opened", first_attempt)
    elif action == "labeled" and declares_incident(report, "labeled", added_label(payload)):
        await _adopt(pipeline, report, "labeled", first_attempt)


async def _adopt(pipeline: Pipeline, report: Report, via: Via, first_attempt: bool) -> None:
    store = pipeline.store
    existing = await store.incident_for_issue(report.repo, report.number) or \
        await store.latest_incident_for(declared_fingerprint(report.repo, report.number))
    if existing is not None:
        # Already an incident (Watchkeeper's own issue, or adopted before). Version 1 is
        # a record stored by an adoption whose actions did not all finish: finish them.
        if existing.version == 1 and existing.source == SOURCE:
            await _resume(pipeline, existing, report)
        return
    gateway = _gateway(pipeline, report)
    # The payload is a snapshot: act on the issue as it is now.
    current = await _current(gateway, report)
    known = read_incident_id(current.body)
    if known is not None and await store.get_incident(known) is not None:
        return
    if not declares_incident(current, via, INCIDENT_LABEL if via == "labeled" else None):
        log.info("issue %s#%d no longer asks to be an incident", report.repo, report.number)
        return
    now = pipeline.clock.now()
    config = await pipeline.config_for(report.installation_id, report.repo)
    new_id = await pipeline.new_incident_id(now)
    decision = adopt(current, config, now, new_id, via=via)
    log.info("adopting issue %s#%d as incident %s", report.repo, report.number, new_id)
    await pipeline.apply(None, decision, first_attempt=first_attempt)


async def _resume(pipeline: Pipeline, incident: Incident, report: Report) -> None:
    current = await _current(_gateway(pipeline, report), report)
    now = pipeline.clock.now()
    config = await pipeline.config_for(incident.installation_id, incident.repo)
    origin: SeveritySource = "default"
    for known in SEVERITY_SOURCES:
        if dict(incident.facts).get("severity_source") == known:
            origin = known
    actions = adoption_actions(incident, current, origin, config, now)
    log.info("finishing the adoption of issue %s#%d as incident %s", report.repo,
             report.number, incident.id)
    await pipeline.apply(incident, Decision(incident, actions), first_attempt=False)


def _gateway(pipeline: Pipeline, report: Report) -> Gateway:
    if report.installation_id is None or pipeline.gateway is None:
        raise PermanentError("an issues event without an installation cannot be adopted")
    return pipeline.gateway


async def _current(gateway: Gateway, report: Report) -> Report:
    assert report.installation_id is not None  # checked by _gateway
    issue = await gateway.get_issue(report.installation_id, report.repo, report.number)
    return dataclasses.replace(report, title=issue.title or report.title, body=issue.body,
                               labels=issue.labels, state=issue.state)


async def _reopen(pipeline: Pipeline, report: Report, payload: dict[str, Any],
                  first_attempt: bool) -> None:
    incident = await pipeline.store.incident_for_issue(report.repo, report.number)
    if incident is None or incident.status != "closed":
        return
    now = pipeline.clock.now()
    issue = payload.get("issue")
    at = (timestamp(issue.get("updated_at")) if isinstance(issue, dict) else None) or now
    config = await pipeline.config_for(incident.installation_id, incident.repo)
    decision = reopen(incident, report.sender, at, config, now)
    await pipeline.apply(incident, decision, first_attempt=first_attempt)


def install(runtime: Runtime) -> None:
    runtime.pipeline.on("issues", on_issues)
