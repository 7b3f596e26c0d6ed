"""The cells of the runbook's Postmortem Template table, filled from the record.

One function per field; each returns one line of markdown fit for a table cell (parts
joined with `<br>`). Untrusted text is neutralised here; a field the record cannot fill is
a placeholder starting with PLACEHOLDER, which people replace in review.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from watchkeeper.closure import facts
from watchkeeper.lifecycle.phases import sla_deadlines
from watchkeeper.record import Evidence, Incident
from watchkeeper.render.checklist import iter_items
from watchkeeper.render.escape import code, link, mention, neutralise
from watchkeeper.render.sections import EVIDENCE_NAMES, ROLE_TITLES, SOURCE_NAMES
from watchkeeper.render.times import duration, utc
from watchkeeper.runbook.model import Config

PLACEHOLDER = "_To fill in:"
BR = "<br>"
MILESTONE_ROWS = (("acknowledged", "Acknowledged", "acknowledge"),
                  ("contained", "Contained", "contain"), ("fixed", "Fixed", "fix"))
# Signal facts cited as identifiers in the Detection Method.
DETECTION_IDS = (("run_id", "run ID"), ("run_attempt", "attempt"), ("alert_number", "alert"),
                 ("rule_id", "rule"), ("ghsa_id", "advisory"), ("cve_id", "CVE"),
                 ("secret_type", "secret type"), ("workflow_path", "workflow"),
                 ("check_name", "check"))


def placeholder(what: str) -> str:
    return f"{PLACEHOLDER} {what}_"


def _join(parts: Sequence[str]) -> str:
    return BR.join(part for part in parts if part)


def _who(actor: str) -> str:
    return neutralise(actor, max_len=60)


def incident_id(incident: Incident, issue_url: str | None) -> str:
    return _join([link(incident.id, issue_url) if issue_url else neutralise(incident.id),
                  neutralise(incident.title, max_len=200)])


def severity(incident: Incident) -> str:
    changes = facts.severity_changes(incident)
    parts = [f"**{incident.severity}**"]
    if changes:
        parts[0] += f" (opened as {neutralise(facts.initial_severity(incident), max_len=20)})"
    for entry, old, new in changes:
        what = f"{neutralise(old, max_len=20)} → {neutralise(new, max_len=20)}" if new else \
            neutralise(entry.text, max_len=200)
        parts.append(f"{utc(entry.at)}: {what} by {_who(entry.actor)}")
    return _join(parts)


def sla_verdict(incident: Incident, config: Config, step: str, reached: datetime | None,
                at: datetime) -> str:
    targets = config.sla.get(incident.severity)
    due = sla_deadlines(incident, config).get(step)
    target = getattr(targets, step).describe() if targets is not None else "none"
    if due is None:
        return f"no SLA deadline ({target})"
    if reached is None:
        late = at > due
        return f"SLA {'missed' if late else 'pending'}: not reached (target {target}, " \
               f"due {utc(due)})"
    if reached > due:
        return f"SLA missed by {duration(reached - due)} (target {target})"
    return f"SLA met after {duration(reached - incident.detected_at)} (target {target})"


def times(incident: Incident, config: Config, closed_at: datetime | None) -> str:
    at = closed_at or incident.detected_at
    parts = [f"Detected: {utc(incident.detected_at)} (SLA clocks start)"]
    for milestone, title, step in MILESTONE_ROWS:
        reached = incident.milestone(milestone)
        parts.append(f"{title}: {utc(reached) if reached else 'not recorded'} — "
                     + sla_verdict(incident, config, step, reached, at))
    if closed_at is not None:
        parts.append(f"Closed: {utc(closed_at)} (open for "
                     f"{duration(closed_at - incident.detected_at)}; no SLA target)")
    return _join(parts)


def detection_lag(incident: Incident, commit_time: datetime | None) -> timedelta | None:
    if commit_time is None:
        return None
    return max(incident.detected_at - commit_time, timedelta(0))


def detection(incident: Incident, commit_time: datetime | None) -> str:
    source = SOURCE_NAMES.get(incident.source, incident.source)
    fact = dict(incident.facts)
    ids = [f"{label} {code(fact[key], max_len=120, table=True)}"
           for key, label in DETECTION_IDS if fact.get(key)]
    if incident.commit_sha:
        ids.append(f"commit {code(incident.commit_sha, max_len=64, table=True)}")
    if incident.branch:
        ids.append(f"branch {code(incident.branch, max_len=120, table=True)}")
    parts = [f"{link(source, incident.url)} (rule {code(incident.rule, table=True)}): "
             f"{neutralise(incident.title, max_len=200)}", " · ".join(ids)]
    lag = detection_lag(incident, commit_time)
    if lag is not None and commit_time is not None:
        parts.append(f"Detection lag: {duration(lag)} from the offending commit "
                     f"({utc(commit_time)}) to detection")
    elif incident.commit_sha:
        parts.append("Detection lag: unknown (the offending commit's time could not be read)")
    else:
        parts.append("Detection lag: not applicable (no offending commit recorded)")
    recorded = incident.recorded_at - incident.detected_at
    if recorded >= timedelta(minutes=1):
        parts.append(f"Recorded by Watchkeeper {duration(recorded)} after detection")
    if incident.occurrences.count > 1:
        parts.append(f"Occurrences: {incident.occurrences.count}, the last "
                     f"{utc(incident.occurrences.last_at)}")
    return _join(parts)


def root_cause(incident: Incident) -> str:
    said = facts.root_cause(incident)
    if said is None:
        return placeholder("the root cause (or record it with /rootcause before closing)")
    return f"{neutralise(said.text, max_len=1000)} ({_who(said.actor)}, {utc(said.at)})"


def customer_impact(incident: Incident) -> str:
    impacts = facts.impacts(incident)
    if not impacts:
        return placeholder("who and what was affected (no status update stated an impact)")
    return _join([f"{utc(s.at)}: {neutralise(s.text, max_len=400)} ({_who(s.actor)})"
                  for s in impacts])


def containment(incident: Incident, config: Config) -> str:
    fix_phases = {phase.key for phase, item in iter_items(config.checklist)
                  if item.milestone == "fixed"}
    ticked = facts.ticked_by(incident)
    parts = []
    for phase, item in iter_items(config.checklist):
        if phase.key in fix_phases or item.key not in incident.checklist_done:
            continue
        entry = ticked.get(item.key)
        who = f" ({_who(entry.actor)}, {utc(entry.at)})" if entry else ""
        parts.append(f"✓ {neutralise(item.text, max_len=200)}{who}")
    for entry in facts.entries(incident, "freeze", "recovered", "alert"):
        parts.append(f"{utc(entry.at)}: {neutralise(entry.text, max_len=200)}")
    parts += [_evidence_line(item, "containment") for item in incident.evidence
              if facts.ids(item).get("containment")]
    contained = incident.milestone("contained")
    if contained is not None:
        parts.append(f"Contained {utc(contained)}")
    return _join(parts) or placeholder("what was done to contain the incident")


def _evidence_line(item: Evidence, *keys: str) -> str:
    values = facts.ids(item)
    name = EVIDENCE_NAMES.get(item.kind, item.kind)
    shown = [f"{neutralise(key.replace('_', ' '), max_len=30)} "
             f"{code(values[key], max_len=80, table=True)}" for key in keys if values.get(key)]
    return " · ".join([f"{neutralise(name, max_len=40)} {link(item.title, item.url)}", *shown])


def permanent_fix(incident: Incident) -> str:
    parts = [_evidence_line(pr, "pr", "merge_sha", "head_sha")
             for pr in facts.merged_pulls(incident)]
    parts += [_evidence_line(d, "deployment_id", "environment", "sha", "state")
              for d in facts.deployments(incident)]
    for entry in facts.fix_deployments(incident):
        parts.append(f"{utc(entry.at)}: {neutralise(entry.text, max_len=200)}")
    fixed = incident.milestone("fixed")
    if fixed is not None:
        parts.append(f"Fixed {utc(fixed)}")
    return _join(parts) or placeholder("the merged pull requests, commits and deployments "
                                       "of the permanent fix")


def preventive(count: int) -> str:
    return (f"{count} action(s) from the runbook's recovery and preventive controls, in the "
            "[Preventive Actions](#preventive-actions) table below; review, add and remove "
            "rows")


def owners(incident: Incident) -> str:
    roles = [f"{title}: {mention(incident.role(key))}" for key, title in ROLE_TITLES.items()
             if incident.role(key)]
    return _join([*roles, "Fill the Owner (a GitHub login) and Due Date (YYYY-MM-DD) of each "
                  "preventive action: when this file is merged, each row with both becomes a "
                  "follow-up issue assigned to its owner"])
