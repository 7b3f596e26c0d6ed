"""The deployment freeze: `/freeze` and `/unfreeze`, record-driven starts and lifts, and the
`watchkeeper/freeze` check runs on pull requests.

What starts or lifts a freeze is read from the record (watchkeeper/evidence/freeze.py):
the responders feature records the ticked freeze item and the `contained` milestone, the
closing feature the closed status; this shell re-reads the record on every event about an
incident issue and acts on the difference. It is listed after those features so it sees
what they stored for the same delivery.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from watchkeeper.actions import Comment
from watchkeeper.evidence.commands import parse_command
from watchkeeper.evidence.facts import PullFacts, pull_event, pull_from_json
from watchkeeper.evidence.freeze import (
    FREEZE_CHECK,
    MAX_PULLS,
    WRITE_ROLES,
    PublishFreezeCheck,
    decide_lift,
    decide_pull,
    decide_start,
    known_check_run,
    published,
    severity_checked_key,
    sync,
)
from watchkeeper.github.gateway import Gateway
from watchkeeper.incident import Decision
from watchkeeper.record import Incident
from watchkeeper.render.escape import mention
from watchkeeper.render.times import utc
from watchkeeper.runbook.model import Config
from watchkeeper.signals.payload import MalformedPayload, installation_id, opt_section
from watchkeeper.store.base import Delivery

if TYPE_CHECKING:
    from watchkeeper.pipeline import Pipeline
    from watchkeeper.wiring import Runtime

log = logging.getLogger("watchkeeper.freeze")

# Events that can open an incident: a new one may be of a severity the config freezes for.
SIGNAL_EVENTS = ("workflow_run", "check_run", "code_scanning_alert", "secret_scanning_alert",
                 "dependabot_alert")
PULL_ACTIONS = ("opened", "synchronize", "reopened", "edited", "ready_for_review")


def _first(delivery: Delivery) -> bool:
    return delivery.attempts <= 1


async def _open(pipeline: Pipeline) -> list[Incident]:
    return await pipeline.store.list_incidents(open_only=True)


async def _open_pulls(gateway: Gateway, installation: int, repo: str, base: str | None
                      ) -> list[PullFacts]:
    items = await gateway.list_pulls(installation, repo, base=base)
    pulls = []
    for item in items[:MAX_PULLS]:
        try:
            pulls.append(pull_from_json(item, repo))
        except MalformedPayload:
            continue
    return pulls


async def change(pipeline: Pipeline, incident: Incident, what: str, reason: str, actor: str,
                 *, first_attempt: bool, done: tuple[str, ...] = ()) -> None:
    """Start or lift the incident's freeze, publishing the checks."""
    gateway, installation = pipeline.gateway, incident.installation_id
    if gateway is None or installation is None:
        return
    config = await pipeline.config_for(installation, incident.repo)
    now = pipeline.clock.now()
    others = [i for i in await _open(pipeline) if i.id != incident.id and i.freeze.active
              and i.repo.lower() == incident.repo.lower()]
    if what == "start":
        branch = (await gateway.get_repo(installation, incident.repo)).default_branch
        pulls = await _open_pulls(gateway, installation, incident.repo, branch)
        decision = decide_start(incident, reason=reason, actor=actor, at=now, config=config,
                                now=now, branch=branch, pulls=pulls, others=others)
    else:
        pulls = await _open_pulls(gateway, installation, incident.repo, None)
        decision = decide_lift(incident, reason=reason, actor=actor, at=now, config=config,
                               now=now, pulls=pulls, others=others)
    if done and decision.incident is not None:
        decision = Decision(decision.incident.with_done(*done), decision.actions)
    await pipeline.apply(incident, decision, first_attempt=first_attempt)


async def sync_incident(pipeline: Pipeline, incident: Incident, *, first_attempt: bool,
                        config: Config | None = None) -> None:
    """Act on what the record now asks of the freeze (see evidence.freeze.sync)."""
    if incident.issue_number is None:
        return
    config = config or await pipeline.config_for(incident.installation_id, incident.repo)
    todo = sync(incident, config)
    if todo is not None:
        what, reason = todo
        await change(pipeline, incident, what, reason, "watchkeeper", first_attempt=first_attempt)
        return
    checked = severity_checked_key(incident)
    if incident.status != "closed" and not incident.done(checked):
        await pipeline.apply(incident, Decision(incident.with_done(checked), ()),
                             first_attempt=first_attempt)


async def _issue_incident(pipeline: Pipeline, payload: dict[str, Any]) -> Incident | None:
    issue = opt_section(payload, "issue")
    repo = opt_section(payload, "repository").get("full_name")
    number = issue.get("number")
    if not isinstance(repo, str) or not isinstance(number, int) or "pull_request" in issue:
        return None
    return await pipeline.store.incident_for_issue(repo, number)


async def on_issue(pipeline: Pipeline, delivery: Delivery, payload: dict[str, Any]) -> None:
    incident = await _issue_incident(pipeline, payload)
    if incident is not None:
        await sync_incident(pipeline, incident, first_attempt=_first(delivery))


def _reply(incident: Incident, text: str, key: str) -> Decision:
    return Decision(incident.with_done(key), (Comment(incident.id, incident.tracker_repo, text,
                                                      key=f"{key}:reply"),))


async def on_comment(pipeline: Pipeline, delivery: Delivery, payload: dict[str, Any]) -> None:
    incident = await _issue_incident(pipeline, payload)
    if incident is None:
        return
    first = _first(delivery)
    comment = opt_section(payload, "comment")
    command = parse_command(comment.get("body")) if payload.get("action") == "created" \
        else None
    key = f"cmd:{comment.get('id')}:{command.name}" if command else ""
    if command is not None and not incident.done(key) and pipeline.gateway is not None:
        actor = str(opt_section(payload, "sender").get("login") or "")
        installation = installation_id(payload) or incident.installation_id
        role = await pipeline.gateway.get_permission(installation, incident.tracker_repo,
                                                     actor) if installation else "none"
        note = f": {command.note}" if command.note else ""
        if role not in WRITE_ROLES:
            text = (f"{mention(actor)} only people with write, maintain or admin permission on "
                    f"this repository can run `/{command.name}`; nothing was changed.")
            await pipeline.apply(incident, _reply(incident, text, key), first_attempt=first)
        elif command.name == "freeze" and incident.freeze.active:
            text = (f"Deployments are already frozen for this incident (since "
                    f"{utc(incident.freeze.since)}); nothing changed.")
            await pipeline.apply(incident, _reply(incident, text, key), first_attempt=first)
        elif command.name == "freeze" and incident.status == "closed":
            await pipeline.apply(incident, _reply(
                incident, "This incident is closed: no freeze was started.", key),
                first_attempt=first)
        elif command.name == "unfreeze" and not incident.freeze.active:
            await pipeline.apply(incident, _reply(
                incident, "No deployment freeze is in effect for this incident; nothing "
                "changed.", key), first_attempt=first)
        else:
            what = "start" if command.name == "freeze" else "lift"
            await change(pipeline, incident, what, f"/{command.name} by {actor}{note}", actor,
                         first_attempt=first, done=(key,))
        incident = await pipeline.store.get_incident(incident.id) or incident
    await sync_incident(pipeline, incident, first_attempt=first)


async def on_pull_request(pipeline: Pipeline, delivery: Delivery, payload: dict[str, Any]
                          ) -> None:
    if payload.get("action") not in PULL_ACTIONS:
        return
    try:
        pull = pull_event(payload, received_at=delivery.received_at)
    except MalformedPayload:
        return
    if pull is None:
        return
    freezing = [i for i in await _open(pipeline) if i.freeze.active
                and i.issue_number is not None]
    for before, decision in decide_pull(freezing, pull):
        await pipeline.apply(before, decision, first_attempt=_first(delivery))


async def on_signal_event(pipeline: Pipeline, delivery: Delivery, payload: dict[str, Any]
                          ) -> None:
    """A delivery that may have opened an incident: freeze it if its severity says so."""
    repo = str(opt_section(payload, "repository").get("full_name") or "").lower()
    for incident in await _open(pipeline):
        if (incident.repo.lower() == repo and not incident.freeze.active
                and incident.issue_number is not None
                and not incident.done(severity_checked_key(incident))):
            await sync_incident(pipeline, incident, first_attempt=_first(delivery))


def publisher(gateway: Gateway) -> Any:
    async def publish(incident: Incident, action: PublishFreezeCheck, first_attempt: bool
                      ) -> Incident:
        installation = incident.installation_id
        if installation is None:
            return incident
        output = {"conclusion": action.conclusion, "title": action.title,
                  "summary": action.summary}
        run_id = known_check_run(incident, action.repo, action.sha)
        if run_id is None:
            run_id = await gateway.find_check_run(installation, action.repo, action.sha,
                                                  FREEZE_CHECK)
        if run_id is not None and await gateway.update_check_run(
                installation, action.repo, run_id, **output):
            return published(incident, action, run_id)
        run_id = await gateway.create_check_run(installation, action.repo, name=FREEZE_CHECK,
                                                head_sha=action.sha, external_id=incident.id,
                                                **output)
        log.info("published %s (%s) on %s#%d", FREEZE_CHECK, action.conclusion, action.repo,
                 action.pr)
        return published(incident, action, run_id)

    return publish


def install(runtime: Runtime) -> None:
    pipeline = runtime.pipeline
    pipeline.executor.register(PublishFreezeCheck, publisher(runtime.gateway))
    pipeline.on("issue_comment", on_comment)
    pipeline.on("issues", on_issue)
    pipeline.on("pull_request", on_pull_request)
    for event in SIGNAL_EVENTS:
        pipeline.on(event, on_signal_event)
