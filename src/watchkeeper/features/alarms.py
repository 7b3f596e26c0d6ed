"""Production alarms: `repository_dispatch` (event type "incident") and the alerts the
receiver at /api/alerts stored. Each opens or joins an incident by its dedup key,
or (resolved) adds a "signal recovered" entry, through the ordinary decide()."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from watchkeeper.alarms.dispatch import parse_dispatch
from watchkeeper.alarms.model import Alarm, alarm_from_json, alarm_match, alarm_signal
from watchkeeper.alerts_api import EVENT, PREFIX, alerts_route
from watchkeeper.errors import PermanentError
from watchkeeper.incident import Decision, decide, opening_actions
from watchkeeper.logs import bind
from watchkeeper.signals.payload import MalformedPayload, installation_id
from watchkeeper.store.base import Delivery

if TYPE_CHECKING:
    from watchkeeper.pipeline import Pipeline
    from watchkeeper.wiring import Runtime

log = logging.getLogger("watchkeeper.alarms")


async def on_dispatch(pipeline: Pipeline, delivery: Delivery, payload: dict[str, Any]) -> None:
    try:
        alarm = parse_dispatch(payload, delivery_id=delivery.delivery_id,
                               received_at=delivery.received_at)
    except MalformedPayload as exc:
        raise PermanentError(f"repository_dispatch (incident): {exc}") from exc
    if alarm is None:
        return
    installation = installation_id(payload)
    if installation is None:
        raise PermanentError("repository_dispatch without an installation")
    await handle_alarm(pipeline, alarm, installation, first_attempt=delivery.attempts <= 1)


async def on_alert(pipeline: Pipeline, delivery: Delivery, payload: dict[str, Any]) -> None:
    if not delivery.delivery_id.startswith(PREFIX):
        log.warning("ignored a %s event that the alerts receiver did not store", EVENT)
        return
    try:
        alarm = alarm_from_json(payload)
    except MalformedPayload as exc:
        raise PermanentError(f"stored alert unreadable: {exc}") from exc
    if pipeline.gateway is None:
        raise PermanentError("no GitHub gateway to find the repository's installation")
    installation = await pipeline.gateway.get_repo_installation_id(alarm.repo)
    if installation is None:
        raise PermanentError(f"alert for {alarm.repo}, where Watchkeeper is not installed")
    await handle_alarm(pipeline, alarm, installation, first_attempt=delivery.attempts <= 1)


async def handle_alarm(pipeline: Pipeline, alarm: Alarm, installation: int, *,
                       first_attempt: bool) -> None:
    """Open, join or recover, like Pipeline.handle does for security signals, with the
    alarm's own match instead of the policy's rules."""
    with bind(event_key=alarm.event_key, repo=alarm.repo):
        now = pipeline.clock.now()
        config = await pipeline.config_for(installation, alarm.repo)
        signal = alarm_signal(alarm, installation)
        match = alarm_match(alarm, config)
        incident = await pipeline.store.open_incident_for(match.fingerprint)
        if incident is None and signal.kind != "detection":
            return  # a resolved alarm with nothing open: nothing to record
        new_id = await pipeline.new_incident_id(now) if incident is None else ""
        decision = decide(incident, signal, match, config, now, new_id)
        if incident is not None and incident.issue_number is None and decision.incident:
            # An earlier attempt stored the record but never learnt its issue number.
            decision = Decision(decision.incident, (
                *opening_actions(decision.incident, config, now), *decision.actions))
            first_attempt = False
        await pipeline.apply(incident, decision, first_attempt=first_attempt)


def install(runtime: Runtime) -> None:
    runtime.pipeline.on("repository_dispatch", on_dispatch)
    runtime.pipeline.on(EVENT, on_alert)
    runtime.routes.append(alerts_route(runtime.settings.alerts_token, runtime.store,
                                       runtime.clock))
