"""The SLA clock's I/O shell: the sweep, the scheduler job, and the breach-label override.

`sweep(runtime)` looks at every open incident whose stored SLA clock is stale or due
(the rest cost nothing: no config read, no GitHub call), decides with the pure
`due_effects` and applies through the pipeline, then writes the weekly review when it
is due. `watchkeeper serve` runs it every SWEEP_INTERVAL seconds under a store lease
(one replica at a time); `watchkeeper sweep` runs it once, for cron-style deployments.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from watchkeeper.features.slaclock_review import review_pass
from watchkeeper.logs import bind
from watchkeeper.record import Incident
from watchkeeper.runbook.model import Config
from watchkeeper.scheduler import LeasedJob
from watchkeeper.slaclock import (
    due_effects,
    fired_effects,
    needs_check,
    needs_release,
    next_release,
    parse_label_removal,
    record_override,
)
from watchkeeper.store.base import Delivery

if TYPE_CHECKING:
    from watchkeeper.pipeline import Pipeline
    from watchkeeper.wiring import Runtime

log = logging.getLogger("watchkeeper.slaclock")

SWEEP_LEASE = "sla-sweep"


@dataclass
class SweepReport:
    """What one sweep did, for the `sweep` command's output and for tests."""

    looked_at: int = 0  # incidents whose clock was due or stale
    skipped: int = 0  # open incidents with nothing due
    effects: list[str] = field(default_factory=list)  # "INC-2026-0001 breach acknowledge"
    failed: list[str] = field(default_factory=list)  # incident IDs left for the next sweep
    reviews: list[str] = field(default_factory=list)  # "owner/repo 2026-W48"


async def sweep(runtime: Runtime, *, force_review: bool = False) -> SweepReport:
    """One pass of the SLA clock over the open incidents, then the weekly review."""
    report = SweepReport()
    async with runtime.gateway.session():
        now = runtime.clock.now()
        for incident in await runtime.store.list_incidents(open_only=True):
            if incident.issue_number is None or incident.installation_id is None:
                continue  # the pipeline is still opening its issue
            if not needs_check(incident, now):
                report.skipped += 1
                continue
            report.looked_at += 1
            with bind(incident_id=incident.id):
                await _sweep_incident(runtime, incident, now, report)
        report.reviews = await review_pass(runtime, runtime.clock.now(), force=force_review)
    return report


async def _sweep_incident(runtime: Runtime, incident: Incident, now: datetime,
                          report: SweepReport) -> None:
    pipeline = runtime.pipeline
    try:
        config = await pipeline.config_for(incident.installation_id, incident.repo)
        due, title = await _release(runtime, incident, config)
        decision = due_effects(incident, config, now, next_release_due=due,
                               next_release_title=title)
        # Always as a retry: an earlier sweep may have posted a comment and then lost the
        # save (a crash, a concurrent webhook); the executor then finds it by its key.
        await pipeline.apply(incident, decision, first_attempt=False)
    except Exception as exc:  # one incident must not stop the sweep; the next one retries
        log.warning("SLA sweep of %s failed: %s", incident.id, exc)
        report.failed.append(incident.id)
        return
    if decision.incident is None:
        return
    for kind, step in fired_effects(incident, decision.incident):
        report.effects.append(f"{incident.id} {kind} {step}")
        log.info("SLA %s for %s: %s", kind, incident.id, step)
        if kind == "breach":
            runtime.metrics.sla_breaches.inc(milestone=step)


async def _release(runtime: Runtime, incident: Incident, config: Config
                   ) -> tuple[datetime | None, str]:
    """The next release's due date and title, when a pending step's target needs it."""
    stored = (incident.sla_clock.release_due, incident.sla_clock.release_title)
    if not needs_release(incident, config) or incident.installation_id is None:
        return stored
    try:
        milestones = await runtime.gateway.list_milestones(incident.installation_id,
                                                           incident.repo)
    except Exception as exc:  # keep what we knew; the next refresh asks again
        log.warning("cannot list milestones of %s: %s", incident.repo, exc)
        return stored
    release = next_release(milestones, incident.detected_at)
    return (release.due, release.title) if release is not None else (None, "")


async def on_issues(pipeline: Pipeline, delivery: Delivery, payload: dict[str, Any]) -> None:
    """A person removed `sla:breached`: record it and never add it again for that deadline."""
    removal = parse_label_removal(payload)
    if removal is None:
        return
    incident = await pipeline.store.incident_for_issue(removal.repo, removal.number)
    if incident is None:
        return
    config = await pipeline.config_for(incident.installation_id, incident.repo)
    # Keyed on the change itself (the issue's update time), not the delivery: a replayed
    # body under a new delivery ID records nothing twice.
    when = removal.at.isoformat() if removal.at is not None else delivery.delivery_id
    decision = record_override(incident, removal, config, pipeline.clock.now(),
                               event_key=f"sla_override:{removal.repo}#{removal.number}:{when}")
    await pipeline.apply(incident, decision, first_attempt=delivery.attempts <= 1)


def install(runtime: Runtime) -> None:
    runtime.pipeline.on("issues", on_issues)
    interval = runtime.settings.sweep_interval
    if interval > 0:
        job = LeasedJob(runtime.store, runtime.clock, lambda: sweep(runtime),
                        name=SWEEP_LEASE, interval=interval)
        runtime.jobs.append(job.run)
