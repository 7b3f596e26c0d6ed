"""Closing decisions, pure: the record and the actions for each step.

A close is handled in three steps, each stored before the next (so a crash or a failure
in the middle is resumed by the retried delivery, and every step is done once, by key):

1. `on_closed` records the close and evaluates the Definition of Done;
2. `postmortem_step` commits the postmortem and opens or updates its pull request;
3. `announce_close` tells the issue: comment, labels, sections (with the pull request
   known by then).

A merged postmortem pull request is `on_merged` (published; follow-up issues) then
`announce_merge`.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any

from watchkeeper.actions import (
    AddLabels,
    AnyAction,
    Comment,
    EnsureLabels,
    LabelSpec,
    RemoveLabels,
    SetIssueState,
)
from watchkeeper.closure import decision_log, dod, postmortem, preventive, texts
from watchkeeper.closure.actions import CreateFollowUp, PublishPostmortem
from watchkeeper.closure.events import (
    NOT_PLANNED,
    POSTMORTEM_PREFIX,
    IssueClosed,
    PullMerged,
    postmortem_branch,
)
from watchkeeper.closure.fields import detection_lag
from watchkeeper.closure.model import Closure, FollowUp
from watchkeeper.incident import Decision, status_label, update_sections
from watchkeeper.notify.plan import notifications_for
from watchkeeper.record import Evidence, Incident, TimelineEntry
from watchkeeper.render.markers import extract
from watchkeeper.runbook.model import Config

ACTOR = "watchkeeper"
NEEDS_DOD = LabelSpec("needs:definition-of-done", "e99695",
                      "Closed before the runbook's Definition of Done was met")
PREVENTIVE = LabelSpec("preventive-action", "0e8a16",
                       "Preventive action from an incident postmortem")
SECTIONS = ("summary", "evidence", "timeline", "dod", "meta")


def close_key(event: IssueClosed, fallback: str) -> str:
    return f"closed:{event.at.isoformat() if event.at else fallback}"


def _log(incident: Incident, *entries: TimelineEntry) -> Incident:
    return incident.replace(timeline=(*incident.timeline, *entries))


def postmortem_path(incident: Incident, config: Config) -> str:
    """"<dir>/<detection date>-<incident id>.md": stable across closes."""
    name = postmortem_branch(incident.id).removeprefix(POSTMORTEM_PREFIX)
    folder = config.closure.postmortem_dir.strip("/")
    return f"{folder}/{incident.detected_at.date().isoformat()}-{name}.md"


def on_closed(incident: Incident, event: IssueClosed, config: Config, now: datetime, *,
              key: str, commit_time: datetime | None) -> Decision:
    """Step 1: record the close (or, with `on_unmet: reopen`, the refused close)."""
    if incident.done(key):
        return Decision(incident)
    at = event.at or now
    old = incident.closure
    incident = incident.replace(closure=replace(
        old, reason=event.reason, closed_by=event.actor, issue_url=event.url or old.issue_url,
        commit_time=old.commit_time or commit_time))
    if not event.completed:
        words = "as a duplicate" if event.reason == "duplicate" else \
            "as not planned (false positive)"
        entry = TimelineEntry(at, event.actor, "closed", f"Closed {words}", key=key)
        # A false positive has no Definition of Done: an earlier evaluation no longer applies.
        closed = _log(incident, entry).replace(
            status="closed", closed_at=at, closure=_with(incident, dod=(), evaluated_at=None))
        return Decision(closed.with_done(key))
    items = dod.evaluate(incident, config, at)
    incident = incident.replace(closure=_with(incident, dod=items, evaluated_at=at))
    unmet = [item for item in items if not item.met]
    summary = f"Definition of Done: {len(items) - len(unmet)} of {len(items)} met" + (
        "; unmet: " + "; ".join(item.detail for item in unmet) if unmet else "")
    closed_entry = TimelineEntry(at, event.actor, "closed", "Closed as completed", key=key)
    if dod.blocking(items) and config.closure.on_unmet == "reopen":
        refused = TimelineEntry(at, ACTOR, "dod", summary + ". Reopened: the Definition of "
                                "Done is not met")
        return Decision(_log(incident, closed_entry, refused).with_done(key))
    entry = TimelineEntry(at, ACTOR, "dod", summary)
    done = _log(incident, closed_entry, entry).replace(status="closed", closed_at=at)
    return Decision(done.with_done(key))


def _with(incident: Incident, **changes: Any) -> Closure:
    return replace(incident.closure, **changes)


def wants_postmortem(incident: Incident, config: Config) -> bool:
    if incident.status != "closed" or incident.closure.published_at is not None:
        return False
    return incident.closure.reason not in NOT_PLANNED or config.closure.postmortem_on_not_planned


def reviewers(incident: Incident, config: Config) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(logins, team slugs) of the Incident Commander and the Security Owner (recorded,
    else the configured defaults); teams only from the repository's own organisation."""
    owner = incident.tracker_repo.split("/", 1)[0].lower()
    users: list[str] = []
    teams: list[str] = []
    for role in ("incident_commander", "security_owner"):
        cfg = config.roles.get(role)
        who = (incident.role(role) or (cfg.default if cfg else None) or "").removeprefix("@")
        org, slash, team = who.partition("/")
        if slash and org.lower() == owner and team not in teams:
            teams.append(team)
        elif who and not slash and who not in users and not who.endswith("[bot]"):
            users.append(who)
    return tuple(users), tuple(teams)


def postmortem_step(incident: Incident, config: Config, now: datetime, *, key: str
                    ) -> Decision:
    """Step 2: the postmortem commit and pull request (once per close)."""
    done_key = f"postmortem:{key}"
    if incident.done(done_key) or not wants_postmortem(incident, config):
        return Decision(incident)
    closure = incident.closure
    inputs = postmortem.Inputs(incident.closed_at, closure.commit_time, closure.issue_url)
    path = closure.postmortem_path or postmortem_path(incident, config)
    log_path = config.closure.decision_log
    decisions = decision_log.block(incident, closure.issue_url)
    users, teams = reviewers(incident, config)
    shown = [*users, *(f"{incident.tracker_repo.split('/')[0]}/{t}" for t in teams)]
    sections = postmortem.render_sections(incident, config, inputs)
    action = PublishPostmortem(
        incident_id=incident.id, repo=incident.tracker_repo,
        branch=closure.postmortem_branch or postmortem_branch(incident.id), path=path,
        document=postmortem.render(incident, config, inputs),
        sections=tuple(sections.items()),
        proposals=preventive.proposals(incident, detection_lag(incident, closure.commit_time)),
        decision_log=log_path, decisions=decisions,
        decision_section=decision_log.section_name(incident.id),
        message=texts.commit_message(incident), title=texts.pr_title(incident),
        body=texts.pr_body(incident, path, log_path if decisions else None, shown),
        reviewers=users, team_reviewers=teams, at=now, done_key=done_key,
    )
    return Decision(incident, (action,))


def _relabel(incident: Incident, before: str, labels: tuple[str, ...], *,
             needs_dod: bool | None) -> list[AnyAction]:
    """`status:<phase>` follows the record (the phase's label goes, `status:closed` comes);
    `needs:definition-of-done` is added (True), removed if present (False) or left (None)."""
    repo, spec = incident.tracker_repo, status_label("closed")
    present = {name.lower() for name in labels}
    stale = [name for name in labels if name.lower().startswith("status:")
             and name.lower() != spec.name]
    if not stale and not labels and before != "closed":
        stale = [f"status:{before}"]  # the payload showed no labels: trust the record
    if needs_dod is False and NEEDS_DOD.name in present:
        stale.append(NEEDS_DOD.name)
    specs = [spec] if spec.name not in present else []
    if needs_dod and NEEDS_DOD.name not in present:
        specs.append(NEEDS_DOD)
    actions: list[AnyAction] = []
    if stale:
        actions.append(RemoveLabels(incident.id, repo, tuple(stale)))
    if specs:
        actions += [EnsureLabels(repo, tuple(specs)),
                    AddLabels(incident.id, repo, tuple(s.name for s in specs))]
    return actions


def failure_key(done_key: str) -> str:
    """The timeline key of a postmortem step that could not be performed."""
    return f"failed:{done_key}"


def announce_close(incident: Incident, config: Config, now: datetime, *, key: str,
                   before_status: str, labels: tuple[str, ...]) -> Decision:
    """Step 3: the comment, labels, sections and notifications for the close."""
    done_key = f"announced:{key}"
    if incident.done(done_key):
        return Decision(incident)
    failed = next((dict(e.data).get("error") or e.text for e in incident.timeline
                   if e.key == failure_key(f"postmortem:{key}")), None)
    repo = incident.tracker_repo
    actions: list[AnyAction] = []
    if incident.status != "closed":  # refused: reopen
        actions += [Comment(incident.id, repo, texts.refused_comment(incident), key=done_key),
                    SetIssueState(incident.id, repo, "open")]
    elif incident.closure.reason in NOT_PLANNED:
        actions += _relabel(incident, before_status, labels, needs_dod=False)
        actions.append(Comment(incident.id, repo, texts.not_planned_comment(
            incident, wants_postmortem(incident, config) or incident.closure.postmortem_pr
            is not None), key=done_key))
    else:
        actions += _relabel(incident, before_status, labels,
                            needs_dod=bool(incident.closure.unmet()))
        actions.append(Comment(incident.id, repo,
                               texts.closed_comment(incident, failed), key=done_key))
    updated = incident.with_done(done_key)
    actions.append(update_sections(updated, config, now, *SECTIONS))
    if incident.status == "closed":
        summary = f"Incident closed ({(incident.closure.reason or 'completed')})"
        actions += notifications_for(updated, "closed", config, summary, now=now, key=key)
    return Decision(updated, tuple(actions))


# --- the postmortem pull request merged -------------------------------------------------


def preventive_rows(text: str | None) -> list[preventive.Row]:
    if not text:
        return []
    return preventive.parse_rows(extract(text, "preventive") or text)


def on_merged(incident: Incident, event: PullMerged, config: Config, now: datetime,
              text: str | None) -> Decision:
    """Record the postmortem as published; plan a follow-up issue per actionable row."""
    key = f"published:{event.number}"
    if incident.done(key):
        return Decision(incident)
    at = event.at or now
    found, _ = preventive.actions(preventive_rows(text))
    known = {f.key for f in incident.closure.followups}
    new = [FollowUp(a.key, a.title, a.owner, a.due.isoformat(), incident.tracker_repo)
           for a in found if a.key not in known]
    closure = _with(incident, published_at=at, postmortem_pr=event.number,
                    postmortem_url=event.url or incident.closure.postmortem_url,
                    followups=(*incident.closure.followups, *new))
    entry = TimelineEntry(at, event.actor, "postmortem",
                          f"Postmortem published: pull request {event.number} merged",
                          url=event.url, key=key)
    proof = Evidence(f"postmortem:{event.repo}#{event.number}", "postmortem",
                     "Postmortem pull request (merged)", event.url,
                     tuple((k, v) for k, v in (("pr", str(event.number)),
                                               ("merge_sha", event.merge_sha or ""),
                                               ("path", incident.closure.postmortem_path or ""))
                           if v), at)
    evidence = (*(e for e in incident.evidence if e.key != proof.key), proof)
    before_unmet = bool(incident.closure.unmet())
    updated = _log(incident.replace(closure=closure, evidence=evidence), entry)
    actions: list[AnyAction] = []
    if updated.status == "closed":
        items = dod.evaluate(updated, config, at)
        updated = updated.replace(closure=_with(updated, dod=items, evaluated_at=at))
        if before_unmet and not updated.closure.unmet():
            actions.append(RemoveLabels(updated.id, updated.tracker_repo, (NEEDS_DOD.name,)))
    by_key = {a.key: a for a in found}
    if new:
        actions.append(EnsureLabels(updated.tracker_repo, (PREVENTIVE,)))
    for follow in new:
        act = by_key[follow.key]
        actions.append(CreateFollowUp(
            updated.id, updated.tracker_repo, follow.key, texts.followup_title(updated, act),
            texts.followup_body(updated, act, event.url), (PREVENTIVE.name,),
            () if "/" in act.owner else (act.owner,),
            texts.followup_marker(updated.id, follow.key), at))
    return Decision(updated.with_done(key), tuple(actions))


def announce_merge(incident: Incident, config: Config, now: datetime, *, number: int,
                   text: str | None) -> Decision:
    done_key = f"announced:published:{number}"
    if incident.done(done_key):
        return Decision(incident)
    _, skipped = preventive.actions(preventive_rows(text))
    body = texts.merged_comment(incident, incident.closure.followups, skipped,
                                evaluated=incident.status == "closed")
    updated = incident.with_done(done_key)
    return Decision(updated, (
        Comment(incident.id, incident.tracker_repo, body, key=done_key),
        update_sections(updated, config, now, *SECTIONS),
    ))
