"""Alert state changes on the incident an alert opened, and alerts coming back after closure.

- A fixed / dismissed / resolved alert is a recovery (`incident.decide` adds the timeline
  entry); here it becomes evidence too. A secret resolved as revoked is containment evidence.
- A secret whose validity turns `inactive` ticks the checklist's "revoke key/token" item with
  that evidence; other validity checks and withdrawn advisories are timeline entries.
- An alert reopened or reintroduced while its incident is closed reopens that incident
  within `incidents.reopen_window_days` of its closing; later, a new incident opens and
  links the old one. Nothing here ever closes an incident: people do.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from watchkeeper.actions import (
    AddLabels,
    AnyAction,
    Comment,
    EnsureLabels,
    OpenIssue,
    RemoveLabels,
    SetIssueState,
)
from watchkeeper.declare.reopen import phase_after_reopen
from watchkeeper.evidence.alert_text import (
    ALERT_SOURCES,
    alert_change_text,
    alert_evidence,
    containment,
)
from watchkeeper.evidence.records import has_entry, with_entry, with_evidence
from watchkeeper.incident import Decision, opening_actions, status_label, update_sections
from watchkeeper.notify.plan import notifications_for
from watchkeeper.record import Evidence, Incident, Occurrences, TimelineEntry
from watchkeeper.render.checklist import iter_items
from watchkeeper.render.escape import neutralise
from watchkeeper.render.times import duration, utc
from watchkeeper.runbook.model import Config
from watchkeeper.signals.model import Signal

ACTOR = "watchkeeper"
REVOKE_KEY = "revoke_credentials"


def revoke_item(config: Config) -> tuple[str, str] | None:
    """(key, text) of the checklist's "revoke key/token" item, if the checklist has one."""
    items = [item for _, item in iter_items(config.checklist)]
    found = next((i for i in items if i.key == REVOKE_KEY), None) or next(
        (i for i in items if "revoke" in i.text.lower()), None)
    return (found.key, found.text) if found else None


def decide_alert_change(incident: Incident, signal: Signal, config: Config, now: datetime
                        ) -> Decision:
    """Evidence (and for alert-state signals the timeline entry, and a tick when a secret
    is confirmed inactive) for an alert change on the incident it opened. Pure."""
    if signal.source not in ALERT_SOURCES or signal.kind == "detection":
        return Decision(incident, ())
    if signal.kind == "recovery" and not has_entry(incident, signal.event_key):
        return Decision(incident, ())  # decide() did not take it (stale or replayed)
    updated = with_evidence(incident, alert_evidence(signal))
    sections = ["evidence"]
    if signal.kind == "alert_state":
        updated = with_entry(updated, TimelineEntry(
            signal.occurred_at, ACTOR, "alert", alert_change_text(signal), url=signal.url,
            key=signal.event_key))
        sections.append("timeline")
        revoke = revoke_item(config)
        if containment(signal) == "secret inactive" and revoke is not None \
                and revoke[0] not in updated.checklist_done:
            updated = updated.replace(checklist_done=(*updated.checklist_done, revoke[0]))
            updated = with_entry(updated, TimelineEntry(
                signal.occurred_at, ACTOR, "checklist",
                f"Ticked \u201c{revoke[1]}\u201d: {signal.title} is no longer valid "
                "(validity inactive)", url=signal.url, key=f"tick:{revoke[0]}:{signal.event_key}",
                data=(("item", revoke[0]), ("evidence", signal.event_key))))
            sections.insert(0, "checklist")
    if updated == incident:
        return Decision(incident, ())
    return Decision(updated, (update_sections(updated, config, now, *sections),))


# --- after closure -----------------------------------------------------------------


def _seen(incident: Incident, event_key: str) -> bool:
    return incident.occurrences.last_event_key == event_key or has_entry(incident, event_key)


def follow_closed(previous: Incident, signal: Signal, config: Config, now: datetime
                  ) -> Decision | None:
    """A detection for the fingerprint of a closed incident: the decision to apply to it
    (a replay changes nothing; an alert back within the window reopens it), or None when a
    new incident should open (see `link_previous`)."""
    if signal.kind != "detection" or previous.status != "closed":
        return None
    if _seen(previous, signal.event_key):
        return Decision(previous, ())
    if signal.source not in ALERT_SOURCES:
        return None
    closed_at = previous.closed_at or previous.recorded_at
    if signal.occurred_at - closed_at > timedelta(days=config.reopen_window_days):
        return None
    return _reopen(previous, signal, config, now, closed_at)


def _reopen(previous: Incident, signal: Signal, config: Config, now: datetime,
            closed_at: datetime) -> Decision:
    occ = previous.occurrences
    occurrences = Occurrences(count=occ.count + 1, last_at=signal.occurred_at,
                              last_url=signal.url, last_commit=signal.commit_sha,
                              last_event_key=signal.event_key,
                              last_comment_at=occ.last_comment_at)
    after = duration(max(signal.occurred_at - closed_at, timedelta(0)))
    entry = TimelineEntry(signal.occurred_at, ACTOR, "reopened",
                          f"Reopened: {alert_change_text(signal)} ({after} after closing)",
                          url=signal.url, key=signal.event_key)
    status = phase_after_reopen(previous)  # as when people reopen the issue
    reopened = previous.replace(status=status, closed_at=None, occurrences=occurrences,
                                timeline=(*previous.timeline, entry))
    reopened = with_evidence(reopened, alert_evidence(signal))
    repo, iid = reopened.tracker_repo, reopened.id
    body = (f"**Reopened:** {neutralise(signal.title, max_len=200)} came back "
            f"({neutralise(signal.facts.get('action', 'reopened'), max_len=40)}) at "
            f"{utc(signal.occurred_at)}, {after} after incident {neutralise(iid, max_len=64)} "
            f"was closed (reopening window: {config.reopen_window_days} days). "
            "Re-validate containment; the incident stays open until people close it again.")
    actions: tuple[AnyAction, ...] = (
        SetIssueState(iid, repo, "open"),
        EnsureLabels(repo, (status_label(status),)),
        RemoveLabels(iid, repo, (status_label(previous.status).name,)),
        AddLabels(iid, repo, (status_label(status).name,)),
        update_sections(reopened, config, now, "summary", "sla", "evidence", "timeline",
                        "meta"),
        Comment(iid, repo, body, key=f"reopened:{signal.event_key}"),
        *notifications_for(reopened, "reopened", config,
                           f"Incident reopened: {signal.title} came back", now=now,
                           key=f"reopened:{signal.event_key}"),
    )
    return Decision(reopened, actions)


def link_previous(decision: Decision, previous: Incident, config: Config, now: datetime
                  ) -> Decision:
    """A new incident opened for the fingerprint of a closed one: it links the old one."""
    new = decision.incident
    if new is None or new.id == previous.id or previous.status != "closed":
        return decision
    where = f"{previous.tracker_repo}#{previous.issue_number}" if previous.issue_number else ""
    ids = [("incident", previous.id)] + ([("issue", where)] if where else [])
    closed = f", closed {utc(previous.closed_at)}" if previous.closed_at else ""
    item = Evidence(key=f"incident:{previous.id}", kind="incident",
                    title=f"Earlier incident {previous.id}{closed}", identifiers=tuple(ids),
                    at=new.detected_at)
    entry = TimelineEntry(new.recorded_at, ACTOR, "recorded",
                          f"Follows incident {previous.id}{closed} (same "
                          f"{'alert' if new.source in ALERT_SOURCES else 'signal'}); "
                          f"opened anew{_why(previous, config)}",
                          key=f"follows:{previous.id}")
    linked = with_entry(with_evidence(new, item), entry)
    # The issue is opened with the link in its body; other actions (notifications) stay.
    fresh = {type(a): a for a in opening_actions(linked, config, now)}
    return Decision(linked, tuple(fresh.get(type(a), a) if isinstance(a, OpenIssue | EnsureLabels)
                                  else a for a in decision.actions))


def _why(previous: Incident, config: Config) -> str:
    if previous.source in ALERT_SOURCES:
        return f" because it was closed more than {config.reopen_window_days} days ago"
    return ""

