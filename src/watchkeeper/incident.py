"""decide(): the pure heart of Watchkeeper.

Given the stored incident (or None), one signal, the policy's match, the config, the
current time and a fresh ID, return the new record and the actions to perform on
GitHub. No I/O and no clock: the same inputs always give the same decision, so
the runbook's logic is tested to the minute without a network.

Transitions are a table keyed by (signal kind, incident state); each handler is
a small function. A kind/state pair not in the table changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from watchkeeper.actions import (
    Action,
    AnyAction,
    Comment,
    EnsureLabels,
    LabelSpec,
    OpenIssue,
    UpdateIssueSections,
)
from watchkeeper.evidence.alert_text import ALERT_SOURCES, alert_change_text, alert_evidence
from watchkeeper.notify.plan import notifications_for
from watchkeeper.record import SEVERITIES, Evidence, Incident, Occurrences, Severity, TimelineEntry
from watchkeeper.render.comments import occurrence_comment, recovery_comment
from watchkeeper.render.issue import SECTION_ORDER, render_body, render_sections, render_title
from watchkeeper.render.markers import incident_marker
from watchkeeper.render.times import duration
from watchkeeper.runbook.model import Config, Match
from watchkeeper.signals.model import Signal

ACTOR = "watchkeeper"
# Repeats within this long of the issue's last refresh by a repeat update the record only;
# one later update shows them all (GitHub: fewer writes; people: one edit, not twenty).
COALESCE_WINDOW = timedelta(seconds=30)
OCCURRENCE_SECTIONS = ("summary", "evidence", "timeline", "meta")
RECORDING_LAG = timedelta(minutes=1)  # a longer lag gets its own "recorded" timeline entry
IDENTIFIER_FACTS = ("run_id", "run_attempt", "alert_number", "ghsa_id", "cve_id", "rule_id")

State = Literal["none", "active", "closed"]


@dataclass(frozen=True, slots=True)
class Decision:
    """The record to store (None: nothing to store) and the actions to perform, in order."""

    incident: Incident | None
    actions: tuple[AnyAction, ...] = ()


@dataclass(frozen=True, slots=True)
class _Input:
    incident: Incident | None
    signal: Signal
    match: Match | None
    config: Config
    now: datetime
    new_id: str


Handler = Callable[[_Input], Decision]


# --- labels ----------------------------------------------------------------------

SEVERITY_COLOURS = {"critical": "b60205", "high": "d93f0b", "medium": "fbca04", "low": "0e8a16"}
INCIDENT_LABEL = LabelSpec("incident", "5319e7", "Security incident tracked by Watchkeeper")


def severity_label(severity: str) -> LabelSpec:
    return LabelSpec(f"severity:{severity}", SEVERITY_COLOURS.get(severity, "ededed"),
                     f"Incident severity {severity} (sets the SLA targets)")


def source_label(source: str) -> LabelSpec:
    return LabelSpec(f"source:{source}", "c5def5", f"Incident opened from a {source} signal")


def status_label(status: str) -> LabelSpec:
    return LabelSpec(f"status:{status}", "1d76db", f"Incident phase: {status}")


def incident_labels(incident: Incident) -> tuple[LabelSpec, ...]:
    return (INCIDENT_LABEL, severity_label(incident.severity), source_label(incident.source),
            status_label(incident.status))


# --- handlers --------------------------------------------------------------------


def _no_change(inp: _Input) -> Decision:
    return Decision(inp.incident, ())


def _open(inp: _Input) -> Decision:
    """A detection with no open incident for its fingerprint opens one."""
    signal, match, config, now = inp.signal, inp.match, inp.config, inp.now
    if match is None or signal.kind != "detection":
        return _no_change(inp)
    if inp.incident is not None and _seen(inp.incident, signal.event_key):
        return _no_change(inp)  # the replayed event that opened the closed incident
    problems = config.problems
    if not signal.repo.private and match.tracker_repo == signal.repo.full_name:
        # Secret-scanning alerts are visible to admins only, but issues in a public repository
        # are visible to anyone: say so, and how to keep incidents private.
        problems += (f"{signal.repo.full_name} is public, so this incident issue is visible to "
                     "anyone; set incidents.repository to a private repository to track "
                     "incidents there",)
    severity: Severity
    if match.severity in SEVERITIES:
        severity = match.severity
    else:
        severity = "critical"
        problems += (f"rule {match.rule!r} gave unknown severity {match.severity!r}; "
                     "treated as critical",)
    timeline = [TimelineEntry(signal.occurred_at, ACTOR, "detected",
                              f"Detected: {signal.title}", url=signal.url, key=signal.event_key)]
    lag = now - signal.occurred_at
    if lag > RECORDING_LAG:
        timeline.append(TimelineEntry(now, ACTOR, "recorded",
                                      f"Recorded by Watchkeeper, {duration(lag)} after detection"))
    incident = Incident(
        id=inp.new_id,
        fingerprint=match.fingerprint,
        repo=signal.repo.full_name,
        tracker_repo=match.tracker_repo,
        installation_id=signal.installation_id,
        severity=severity,
        status="open",
        rule=match.rule,
        source=signal.source,
        title=signal.title,
        detected_at=signal.occurred_at,
        recorded_at=now,
        branch=signal.branch,
        commit_sha=signal.commit_sha,
        url=signal.url,
        subject=signal.subject,
        facts=tuple(sorted(signal.facts.items())),
        occurrences=Occurrences(count=1, last_at=signal.occurred_at, last_url=signal.url,
                                last_commit=signal.commit_sha, last_event_key=signal.event_key),
        timeline=tuple(timeline),
        evidence=(_evidence(signal),),
        config_problems=problems,
    )
    # Notifications go last: after the issue exists, so they can link to it.
    return Decision(incident, (*opening_actions(incident, config, now),
                               *notifications_for(incident, "opened", config, now=now)))


def opening_actions(incident: Incident, config: Config, now: datetime) -> tuple[Action, ...]:
    """Labels and the issue for a record; also re-planned when a stored incident still
    has no issue number (the executor then finds an issue it opened by its marker)."""
    labels = incident_labels(incident)
    return (
        EnsureLabels(incident.tracker_repo, labels),
        OpenIssue(
            incident_id=incident.id,
            repo=incident.tracker_repo,
            title=render_title(incident),
            body=render_body(incident, config, now),
            labels=tuple(label.name for label in labels),
            marker=incident_marker(incident.id),
        ),
    )


def _occurrence(inp: _Input) -> Decision:
    """The same failure again: count it; comment at most once per coalescing window."""
    incident, signal, config, now = _active(inp), inp.signal, inp.config, inp.now
    if _seen(incident, signal.event_key):
        return _no_change(inp)
    occ = incident.occurrences
    newer = occ.last_at is None or signal.occurred_at >= occ.last_at
    window = timedelta(minutes=config.occurrence_comment_minutes)
    since = occ.last_comment_at or incident.recorded_at
    comment_due = config.occurrence_comment_minutes > 0 and now - since >= window
    occ = Occurrences(
        count=occ.count + 1,
        last_at=signal.occurred_at if newer else occ.last_at,
        last_url=signal.url if newer else occ.last_url,
        last_commit=signal.commit_sha if newer else occ.last_commit,
        last_event_key=signal.event_key,
        last_comment_at=now if comment_due else occ.last_comment_at,
    )
    entry = TimelineEntry(signal.occurred_at, ACTOR, "occurrence",
                          f"Occurred again (occurrence {occ.count}): {signal.title}",
                          url=signal.url, key=signal.event_key)
    updated = _with_signal_evidence(
        incident.replace(occurrences=occ, timeline=(*incident.timeline, entry)), signal)
    deferred = None if comment_due else coalesced(updated, now, *OCCURRENCE_SECTIONS)
    if deferred is not None:  # a burst of repeats: the issue catches up after the window
        return Decision(deferred, ())
    stale = _merged(updated.stale_sections, OCCURRENCE_SECTIONS)
    updated = updated.replace(stale_sections=(), sections_refreshed_at=now)
    actions: list[AnyAction] = [update_sections(updated, config, now, *stale,
                                             deferrable=not comment_due)]
    if comment_due:
        actions.append(Comment(updated.id, updated.tracker_repo,
                               occurrence_comment(updated, signal,
                                                  window_minutes=config.occurrence_comment_minutes),
                               key=f"occurrence:{signal.event_key}"))
    return Decision(updated, tuple(actions))


def coalesced(incident: Incident, now: datetime, *names: str) -> Incident | None:
    """The incident with `names` marked stale, when its issue was refreshed less than
    `COALESCE_WINDOW` ago (`refresh_stale` shows them later); None when an update is due."""
    last = incident.sections_refreshed_at or incident.recorded_at
    if now - last >= COALESCE_WINDOW:
        return None
    return incident.replace(stale_sections=_merged(incident.stale_sections, names))


def refresh_stale(incident: Incident, config: Config, now: datetime) -> Decision:
    """Bring the sections coalesced repeats left behind up to date: one body update for
    the whole burst, once `COALESCE_WINDOW` has passed since the last one."""
    last = incident.sections_refreshed_at or incident.recorded_at
    if not incident.stale_sections or now - last < COALESCE_WINDOW:
        return Decision(incident, ())
    updated = incident.replace(stale_sections=(), sections_refreshed_at=now)
    return Decision(updated, (update_sections(updated, config, now,
                                              *_merged((), incident.stale_sections)),))


def _merged(current: tuple[str, ...], more: tuple[str, ...]) -> tuple[str, ...]:
    """Section names, each once, in the issue's order."""
    wanted = set(current) | set(more)
    return tuple(name for name in SECTION_ORDER if name in wanted)


def _recovery(inp: _Input) -> Decision:
    """The signal passed again: record it and prompt responders to validate containment."""
    incident, signal, config, now = _active(inp), inp.signal, inp.config, inp.now
    latest_failure = incident.occurrences.last_at or incident.detected_at
    if _seen(incident, signal.event_key) or signal.occurred_at < latest_failure:
        return _no_change(inp)  # replayed, or a pass from before the latest failure
    if any(e.kind == "recovered" and e.at >= latest_failure for e in incident.timeline):
        return _no_change(inp)  # only the first pass after the latest failure is news
    text = alert_change_text(signal) if signal.source in ALERT_SOURCES else \
        f"Signal recovered: {signal.title}"
    entry = TimelineEntry(signal.occurred_at, ACTOR, "recovered", text, url=signal.url,
                          key=signal.event_key)
    updated = _with_signal_evidence(incident.replace(timeline=(*incident.timeline, entry)),
                                    signal)
    return Decision(updated, (
        update_sections(updated, config, now, "evidence", "timeline"),
        Comment(updated.id, updated.tracker_repo, recovery_comment(updated, signal),
                key=f"recovered:{signal.event_key}"),
    ))


TRANSITIONS: dict[tuple[str, State], Handler] = {
    ("detection", "none"): _open,
    ("detection", "closed"): _open,  # a closed incident is not joined: a new one opens
    ("detection", "active"): _occurrence,
    ("recovery", "active"): _recovery,
}


def decide(incident: Incident | None, signal: Signal, match: Match | None, config: Config,
           now: datetime, new_id: str) -> Decision:
    """The decision for one signal; see TRANSITIONS. Pure."""
    handler = TRANSITIONS.get((signal.kind, _state(incident)), _no_change)
    return handler(_Input(incident, signal, match, config, now, new_id))


# --- internals -------------------------------------------------------------------


def _state(incident: Incident | None) -> State:
    if incident is None:
        return "none"
    return "closed" if incident.status == "closed" else "active"


def _active(inp: _Input) -> Incident:
    assert inp.incident is not None  # guaranteed by the transition table
    return inp.incident


def _seen(incident: Incident, event_key: str) -> bool:
    return incident.occurrences.last_event_key == event_key or any(
        entry.key == event_key for entry in incident.timeline
    )


def _with_signal_evidence(incident: Incident, signal: Signal) -> Incident:
    """The run or alert change as evidence too (an alert's state change says how it ended:
    a secret revoked is containment evidence)."""
    if any(item.key == signal.event_key for item in incident.evidence):
        return incident
    item = alert_evidence(signal) if signal.source in ALERT_SOURCES and \
        signal.kind != "detection" else _evidence(signal)
    return incident.replace(evidence=(*incident.evidence, item))


def _evidence(signal: Signal) -> Evidence:
    ids = [(name, signal.facts[name]) for name in IDENTIFIER_FACTS if signal.facts.get(name)]
    if signal.commit_sha:
        ids.append(("sha", signal.commit_sha))
    return Evidence(key=signal.event_key, kind=signal.source, title=signal.title, url=signal.url,
                    identifiers=tuple(ids), at=signal.occurred_at)


def update_sections(incident: Incident, config: Config, now: datetime, *names: str,
                    deferrable: bool = False) -> UpdateIssueSections:
    """Re-render the named app-owned sections of the incident issue from the record."""
    rendered = render_sections(incident, config, now)
    return UpdateIssueSections(incident.id, incident.tracker_repo,
                               tuple((name, rendered[name]) for name in names),
                               deferrable=deferrable)
