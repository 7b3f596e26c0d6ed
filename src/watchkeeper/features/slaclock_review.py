"""The weekly security review's I/O: gather the incidents and preventive actions, write
the week's issue (found again by its marker under the review label, never by search).

The review repository comes from each incident's config (`review.repository`, else
`incidents.repository`); incidents whose config names neither get no review, which is
logged once per repository and week. Incidents sharing a review repository share one
issue; the schedule of the first such incident's config applies.

A review is written at the first sweep after its scheduled time; one missed then (the app
was down) is written by the first sweep later in the same ISO week.

Cost: the pass runs at most once per REVIEW_GATE_SECONDS across all replicas (a store
lease that is never released), and a week's issue is written once (its key is
remembered in the store) unless forced with `watchkeeper sweep --review`.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from watchkeeper.github.gateway import Gateway
from watchkeeper.record import Incident
from watchkeeper.runbook.model import Config
from watchkeeper.scheduler import holder_name
from watchkeeper.slaclock.figures import figures
from watchkeeper.slaclock.review import (
    FIGURES_WINDOW,
    PREVENTIVE_LABEL,
    REVIEW_LABEL,
    PreventiveAction,
    ReviewSlot,
    closed_in,
    order_actions,
    parse_due,
    review_marker,
    review_target,
    review_zone,
    step_states,
    week_slot,
)
from watchkeeper.slaclock.review_render import IncidentRow, render_review, review_title
from watchkeeper.slaclock.steps import deadlines_for

if TYPE_CHECKING:
    from watchkeeper.wiring import Runtime

log = logging.getLogger("watchkeeper.slaclock.review")

REVIEW_GATE = "sla-review-gate"
REVIEW_GATE_SECONDS = 900.0
_SKIPS_LOGGED: set[tuple[str, str]] = set()


@dataclass
class _Group:
    repo: str  # the review repository
    installation_id: int
    config: Config  # the first incident's config: its schedule applies
    members: list[tuple[Incident, Config]] = field(default_factory=list)


async def review_pass(runtime: Runtime, now: datetime, *, force: bool = False) -> list[str]:
    """Write each due week's review issue; returns "owner/repo 2026-W48" for each written."""
    store = runtime.store
    if not force and not await store.try_lease(REVIEW_GATE, holder_name(), now,
                                               REVIEW_GATE_SECONDS):
        return []
    written: list[str] = []
    for group in await _groups(runtime, now):
        slot = week_slot(now, group.config)
        if not force and not slot.due(now):
            continue
        done_key = f"review:{group.installation_id}:{group.repo.lower()}:{slot.week}"
        if not force and await store.event_seen(done_key):
            continue
        try:
            await _write(runtime.gateway, group, slot, now)
        except Exception as exc:  # the next pass tries again
            log.warning("weekly review %s in %s failed: %s", slot.week, group.repo, exc)
            continue
        if slot.due(now):  # an early forced write must not stand in for the scheduled one
            await store.remember_event(done_key, now)
        written.append(f"{group.repo} {slot.week}")
    return written


async def _groups(runtime: Runtime, now: datetime) -> list[_Group]:
    """Recent incidents (open, or closed within the figures window) by review repository."""
    cutoff = now - FIGURES_WINDOW - timedelta(days=8)
    configs: dict[tuple[int, str], Config | None] = {}
    groups: dict[tuple[int, str], _Group] = {}
    for incident in await runtime.store.list_incidents(open_only=False):
        inst = incident.installation_id
        if inst is None or (incident.status == "closed"
                            and (incident.closed_at or incident.detected_at) < cutoff):
            continue
        key = (inst, incident.repo.lower())
        if key not in configs:
            try:
                configs[key] = await runtime.pipeline.config_for(inst, incident.repo)
            except Exception as exc:
                log.warning("no config for %s, left out of the review: %s", incident.repo, exc)
                configs[key] = None
        config = configs[key]
        if config is None:
            continue
        target = review_target(config)
        if target is None:
            _log_skip(incident.repo, config, now)
            continue
        group = groups.setdefault((inst, target.lower()), _Group(target, inst, config))
        group.members.append((incident, config))
    return list(groups.values())


def _log_skip(repo: str, config: Config, now: datetime) -> None:
    slot = week_slot(now, config)
    if config.review.enabled and slot.due(now) and (repo, slot.week) not in _SKIPS_LOGGED:
        _SKIPS_LOGGED.add((repo, slot.week))
        log.info("no weekly review for incidents of %s: set review.repository or "
                 "incidents.repository in its config", repo)


async def _preventive(gateway: Gateway, installation_id: int, repos: Iterable[str]
                      ) -> list[PreventiveAction]:
    found: dict[tuple[str, int], PreventiveAction] = {}
    for repo in sorted(set(repos), key=str.lower):
        for issue in await gateway.list_issues_with_label(installation_id, repo,
                                                          PREVENTIVE_LABEL, state="open"):
            found[(repo.lower(), issue.number)] = PreventiveAction(
                repo, issue.number, issue.title, issue.html_url, issue.assignees,
                parse_due(issue.body))
    return list(found.values())


async def _write(gateway: Gateway, group: _Group, slot: ReviewSlot, now: datetime) -> None:
    inst, repo = group.installation_id, group.repo
    config_of = {incident.id: config for incident, config in group.members}
    incidents = [incident for incident, _ in group.members]

    def deadlines(incident: Incident) -> dict[str, datetime | None]:
        return deadlines_for(incident, config_of[incident.id], incident.sla_clock.release_due)

    def row(incident: Incident) -> IncidentRow:
        return IncidentRow(incident, step_states(incident, deadlines(incident), now))

    open_rows = [row(i) for i in sorted(incidents, key=lambda i: (i.detected_at, i.id))
                 if i.status != "closed"]
    closed_rows = [row(i) for i in closed_in(incidents, slot)]
    zone = review_zone(group.config)
    today = now.astimezone(zone).replace(hour=0, minute=0, second=0, microsecond=0)
    trackers = [repo, *(i.tracker_repo for i in incidents)]
    actions = order_actions(await _preventive(gateway, inst, trackers), today.date())
    figs = figures(incidents, slot.period_end - FIGURES_WINDOW, slot.period_end,
                   deadlines_of=deadlines)
    body = render_review(slot, open_rows, closed_rows, actions, figs, now, today)
    title = review_title(slot)
    marker = review_marker(slot.week)
    await gateway.ensure_labels(inst, repo, (REVIEW_LABEL,))
    existing = [issue for issue in await gateway.list_issues_with_label(
        inst, repo, REVIEW_LABEL.name, state="all") if marker in issue.body]
    if not existing:
        number = await gateway.create_issue(inst, repo, title, body, labels=(REVIEW_LABEL.name,))
        log.info("weekly review %s opened as %s#%d", slot.week, repo, number)
        return
    issue = min(existing, key=lambda i: i.number)
    if issue.body != body or issue.title != title:
        await gateway.update_issue(inst, repo, issue.number,
                                   title=title if issue.title != title else None,
                                   body=body if issue.body != body else None)
    log.info("weekly review %s updated in %s#%d", slot.week, repo, issue.number)
