"""Notifications: the executor queues them, the worker sends them.

Performing a `Notify` action stores one delivery per target (event
"watchkeeper_notify", keyed so a retried decision queues nothing twice) and returns
at once: the incident flow never waits for a channel. The worker then sends each
message; a failing target is retried with the worker's backoff up to
`SEND_ATTEMPTS` times, then logged and dropped, never dead-lettered as an incident
failure. Queued messages survive restarts like webhooks do.
"""

from __future__ import annotations

import hashlib
import json
import logging
from typing import TYPE_CHECKING, Any

from watchkeeper.errors import RetryableError
from watchkeeper.notifier import Notifier
from watchkeeper.notify.action import Notify
from watchkeeper.notify.message import body_for, issue_url, web_url
from watchkeeper.record import Incident
from watchkeeper.store.base import Delivery

if TYPE_CHECKING:
    from watchkeeper.pipeline import Pipeline
    from watchkeeper.wiring import Runtime

log = logging.getLogger("watchkeeper.notify")

EVENT = "watchkeeper_notify"
# Ingress refuses delivery IDs starting with "~", so only Watchkeeper itself can queue
# a message: a webhook cannot make it post to a target.
PREFIX = "~notify:"
SEND_ATTEMPTS = 4


def delivery_id(key: str, target: str) -> str:
    digest = hashlib.sha256(f"{key}\n{target}".encode()).hexdigest()[:40]
    return f"{PREFIX}{digest}"


def unknown_target_problem(name: str) -> str:
    return (f"notify: no notification target named {name!r} is defined on the server "
            "(targets are set by the operator; repositories choose them by name)")


def install(runtime: Runtime) -> None:
    notifier = Notifier(runtime.settings.notify_targets)
    web = web_url(runtime.settings.github_api_url)
    store, clock = runtime.store, runtime.clock

    async def queue(incident: Incident, action: Notify, first_attempt: bool) -> Incident:
        link = issue_url(incident, web)
        problems = list(incident.config_problems)
        for name in action.targets:
            target = notifier.target(name)
            if target is None:
                log.warning("incident %s: repository config names unknown notification "
                            "target %r; skipped", incident.id, name)
                if (problem := unknown_target_problem(name)) not in problems:
                    problems.append(problem)
                continue
            message = {"target": name, "incident_id": incident.id, "event": action.event,
                       "key": action.key,
                       "body": body_for(target.kind, incident, action, link)}
            delivery = Delivery(delivery_id(action.key, name), EVENT, action.event,
                                json.dumps(message).encode(), clock.now())
            try:
                if await store.enqueue(delivery):
                    log.info("incident %s: %s notification queued for %s",
                             incident.id, action.event, name)
            except Exception:
                log.exception("incident %s: could not queue the %s notification for %s",
                              incident.id, action.event, name)
        if len(problems) != len(incident.config_problems):
            return incident.replace(config_problems=tuple(problems))
        return incident

    async def send(pipeline: Pipeline, delivery: Delivery, payload: dict[str, Any]) -> None:
        if not delivery.delivery_id.startswith(PREFIX):
            log.warning("ignored a %s event that Watchkeeper did not queue", EVENT)
            return
        name = str(payload.get("target"))
        target = notifier.target(name)
        body = payload.get("body")
        if target is None or not isinstance(body, dict):
            log.error("notification %s dropped: target %r is no longer defined",
                      delivery.delivery_id, name)
            return
        result = await notifier.send(target, body)
        what = f"{payload.get('event')} notification of {payload.get('incident_id')} to {name}"
        if result.ok:
            log.info("sent the %s", what)
            return
        if result.retryable and delivery.attempts < SEND_ATTEMPTS:
            # The worker owns retries: backoff grows per attempt, never sooner than asked.
            raise RetryableError(f"{what} failed ({result.error})", result.retry_after)
        log.error("gave up on the %s after %d attempt(s): %s", what, delivery.attempts,
                  result.error)

    runtime.pipeline.executor.register(Notify, queue)
    runtime.pipeline.on(EVENT, send)
