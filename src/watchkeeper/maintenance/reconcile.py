"""Reconcile: what GitHub shows now, compared with the incidents, for webhooks that never came.

Per installation and repository:

- an open code-scanning, secret-scanning (read with ``hide_secret``) or Dependabot alert that
  the policy makes an incident, for a failure no incident ever tracked, gets one;
- the newest completed run of each workflow on each branch goes through as its
  ``workflow_run.completed`` webhook would have (a failure opens or joins, a success records a
  recovery); runs are keyed by run id and attempt, so nothing is counted twice;
- an open incident whose alert was fixed, dismissed or resolved gets the recovery entry.

Signals are the very ones the webhook parsers produce (signals/rest.py dresses the REST
objects as webhooks) and go through ``Pipeline.handle``, so every decision, dedup and
idempotency rule applies. Incidents people closed are left alone: reopening is the webhooks'
business. A pass remembers each repository it finished (store replay keys), so an interrupted
pass resumes where it stopped; it pauses between repositories and stops an installation whose
rate limit runs low, to go on at the next tick.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from watchkeeper.github.security_calls import ALERT_KINDS, AlertKind
from watchkeeper.logs import bind
from watchkeeper.runbook.policy import classify
from watchkeeper.signals import rest
from watchkeeper.signals.model import Signal

if TYPE_CHECKING:
    from watchkeeper.wiring import Runtime

log = logging.getLogger("watchkeeper.reconcile")

LEASE = "reconcile"
RATE_LIMIT_RESERVE = 500  # calls left for webhooks when a pass stops an installation
PAUSE_SECONDS = 0.5  # between repositories: reads are not paced by the gateway
RUNS_PER_REPO = 50


@dataclass
class ReconcileReport:
    installations: int = 0
    repositories: int = 0  # looked at in this run
    resumed: int = 0  # skipped: finished earlier in the same pass
    signals: int = 0  # signals handed to the pipeline
    opened: list[str] = field(default_factory=list)  # incident IDs opened
    changed: list[str] = field(default_factory=list)  # incident IDs updated
    deferred: list[int] = field(default_factory=list)  # installations low on rate limit
    failed: list[str] = field(default_factory=list)  # repositories to try next pass
    complete: bool = False


async def reconcile(runtime: Runtime, pass_id: str, *,
                    keep_alive: Callable[[], Awaitable[bool]] | None = None,
                    pause: float = PAUSE_SECONDS,
                    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep
                    ) -> ReconcileReport:
    """Run (or resume) the pass ``pass_id``. ``keep_alive`` renews the job's lease before each
    repository; when it says the lease is gone, the pass stops (another replica has it)."""
    store, gateway = runtime.store, runtime.gateway
    report = ReconcileReport()
    done_key = f"reconcile:{pass_id}"
    if await store.event_seen(done_key):
        report.complete = True
        return report
    complete = True
    async with gateway.session():
        for installation in await gateway.list_installations():
            if installation.suspended:
                continue
            inst_key = f"{done_key}:{installation.id}"
            if await store.event_seen(inst_key):
                continue
            report.installations += 1
            try:
                finished = await _installation(runtime, installation.id, inst_key, report,
                                               keep_alive, pause, sleep)
            except _LeaseLost:
                log.info("reconcile: another replica took the lease; stopping this pass")
                return report
            if finished:
                await store.remember_event(inst_key, runtime.clock.now())
            complete = complete and finished
    if complete:
        await store.remember_event(done_key, runtime.clock.now())
    report.complete = complete
    return report


async def _installation(runtime: Runtime, installation: int, inst_key: str,
                        report: ReconcileReport,
                        keep_alive: Callable[[], Awaitable[bool]] | None, pause: float,
                        sleep: Callable[[float], Awaitable[None]]) -> bool:
    """True when every repository of the installation was reconciled in this pass."""
    store, gateway = runtime.store, runtime.gateway
    try:
        repos = await gateway.list_installation_repos(installation)
    except Exception as exc:
        log.warning("reconcile: cannot list the repositories of installation %s: %s",
                    installation, exc)
        report.failed.append(f"installation {installation}")
        return False
    finished = True
    for n, repo in enumerate(repos):
        name = str(repo["full_name"])
        repo_key = f"{inst_key}:{name.lower()}"
        if await store.event_seen(repo_key):
            report.resumed += 1
            continue
        if keep_alive is not None and not await keep_alive():
            raise _LeaseLost
        left = gateway.rate_limit_remaining(installation)
        if left is not None and left < RATE_LIMIT_RESERVE:
            log.warning("reconcile: installation %s has %d API calls left; going on later",
                        installation, left)
            report.deferred.append(installation)
            return False
        if n and pause > 0:
            await sleep(pause)
        report.repositories += 1
        with bind(installation_id=installation, repo=name):
            try:
                await _repository(runtime, installation, repo, report)
            except Exception as exc:  # one repository must not stop the pass
                log.warning("reconcile of %s failed: %s", name, exc)
                report.failed.append(name)
                finished = False
                continue
        await store.remember_event(repo_key, runtime.clock.now())
    return finished


class _LeaseLost(Exception):
    pass


async def _repository(runtime: Runtime, installation: int, repo: Mapping[str, Any],
                      report: ReconcileReport) -> None:
    before = await _versions(runtime)
    await _signals(runtime, installation, repo, report)
    for incident_id, version in (await _versions(runtime)).items():
        if incident_id not in before:
            report.opened.append(incident_id)
            log.info("reconcile opened %s in %s: its webhook never came", incident_id,
                     repo["full_name"])
        elif version != before[incident_id]:
            report.changed.append(incident_id)


async def _signals(runtime: Runtime, installation: int, repo: Mapping[str, Any],
                   report: ReconcileReport) -> None:
    gateway, name = runtime.gateway, str(repo["full_name"])
    for kind in ALERT_KINDS:
        alerts = await gateway.list_alerts(installation, name, kind)
        for alert in alerts or ():
            event, payload = rest.opened_alert(kind, alert, repo, installation)
            await _detections(runtime, event, payload, report, opening_only=True)
    await _closed_alerts(runtime, installation, repo, report)
    runs = await gateway.list_workflow_runs(installation, name, per_page=RUNS_PER_REPO)
    for run in rest.latest_runs(runs):
        event, payload = rest.completed_run(run, repo, installation)
        await _detections(runtime, event, payload, report, opening_only=False)


async def _closed_alerts(runtime: Runtime, installation: int, repo: Mapping[str, Any],
                         report: ReconcileReport) -> None:
    """Open incidents whose alert GitHub no longer shows open."""
    name = str(repo["full_name"]).lower()
    for incident in await runtime.store.list_incidents(open_only=True):
        kind = rest.SOURCE_KINDS.get(incident.source)
        number = dict(incident.facts).get("alert_number")
        if kind is None or incident.repo.lower() != name or not (number or "").isdigit():
            continue
        alert_kind: AlertKind = kind  # type: ignore[assignment]
        alert = await runtime.gateway.get_alert(installation, incident.repo, alert_kind,
                                                int(number or 0))
        found = rest.closed_alert(kind, alert, repo, installation) if alert else None
        if found is not None:
            await _detections(runtime, *found, report, opening_only=False)


async def _detections(runtime: Runtime, event: str, payload: dict[str, Any],
                      report: ReconcileReport, *, opening_only: bool) -> None:
    pipeline = runtime.pipeline
    for signal in pipeline.router.route(event, payload, received_at=runtime.clock.now()):
        if not await _worth_handling(runtime, signal, opening_only):
            continue
        report.signals += 1
        with bind(event_key=signal.event_key):
            await pipeline.handle(signal, first_attempt=False)


async def _worth_handling(runtime: Runtime, signal: Signal, opening_only: bool) -> bool:
    """Detections only for failures no incident ever tracked, or (runs) open ones; never
    for what people closed after the signal happened."""
    if signal.kind != "detection":
        return not opening_only
    config = await runtime.pipeline.config_for(signal.installation_id, signal.repo.full_name)
    match = classify(signal, config)
    if match is None:
        return False
    store = runtime.store
    if await store.open_incident_for(match.fingerprint) is not None:
        return not opening_only  # an alert already tracked; a run may be a missed repeat
    previous = await store.latest_incident_for(match.fingerprint)
    if previous is None:
        return True
    closed = previous.closed_at or previous.recorded_at
    return not opening_only and signal.occurred_at > closed


async def _versions(runtime: Runtime) -> dict[str, int]:
    return {i.id: i.version for i in await runtime.store.list_incidents(open_only=False)}


def pass_id_at(now: datetime, interval: float) -> str:
    """The pass a scheduled reconcile at ``now`` belongs to: one per interval."""
    return f"every-{int(interval)}:{int(now.timestamp() // max(interval, 1.0))}"
