"""Adopting a person's issue as an incident: the record and the actions. Pure.

The issue stays the reporter's: Watchkeeper prefixes the title with the incident ID,
adds its labels, and appends its own sections after the report (the report's text is
never rewritten). A hidden incident marker in the first added section identifies the
issue, like the issues Watchkeeper opens itself.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from watchkeeper.actions import (
    Action,
    AddLabels,
    AnyAction,
    Comment,
    EnsureLabels,
    RemoveLabels,
    UpdateIssueSections,
)
from watchkeeper.declare.report import (
    SEVERITY_PREFIX,
    Report,
    form_severity,
    has_label,
    label_severity,
)
from watchkeeper.incident import ACTOR, RECORDING_LAG, Decision, incident_labels
from watchkeeper.notify.plan import notifications_for
from watchkeeper.record import Incident, Severity, TimelineEntry
from watchkeeper.render.escape import code, mention, neutralise
from watchkeeper.render.issue import render_sections, render_title
from watchkeeper.render.markers import incident_marker
from watchkeeper.render.times import duration, utc
from watchkeeper.runbook.model import Config
from watchkeeper.runbook.policy import fingerprint

RULE = SOURCE = "declared"
INTRO_SECTION = "declared"  # app-owned section holding the marker and the intro
DEFAULT_SEVERITY: Severity = "medium"
SeveritySource = Literal["label", "form", "default"]
SEVERITY_SOURCES: tuple[SeveritySource, ...] = ("label", "form", "default")


def declared_fingerprint(repo: str, number: int) -> str:
    """One incident per issue: a concurrent `opened` and `labeled` cannot both adopt it
    (the store lets one open incident hold a fingerprint)."""
    return fingerprint(repo, RULE, f"issue#{number}", None)


def initial_severity(report: Report) -> tuple[Severity, SeveritySource]:
    from_label = label_severity(report.labels)
    if from_label is not None:
        return from_label, "label"
    from_form = form_severity(report.body)
    if from_form is not None:
        return from_form, "form"
    return DEFAULT_SEVERITY, "default"


def adopt(report: Report, config: Config, now: datetime, new_id: str, *,
          via: Literal["opened", "labeled"]) -> Decision:
    """The decision that makes `report` incident `new_id`."""
    severity, origin = initial_severity(report)
    incident = Incident(
        id=new_id,
        fingerprint=declared_fingerprint(report.repo, report.number),
        repo=report.repo,
        tracker_repo=report.repo,
        installation_id=report.installation_id,
        severity=severity,
        status="open",
        rule=RULE,
        source=SOURCE,
        title=report.title,
        detected_at=report.created_at,
        recorded_at=now,
        issue_number=report.number,
        url=report.url,
        subject=f"issue #{report.number}",
        facts=(("reporter", report.reporter), ("severity_source", origin)),
        timeline=_timeline(report, severity, origin, now, via),
        config_problems=config.problems,
    )
    return Decision(incident, adoption_actions(incident, report, origin, config, now))


def _timeline(report: Report, severity: Severity, origin: SeveritySource, now: datetime,
              via: str) -> tuple[TimelineEntry, ...]:
    key = f"declared:{report.repo}#{report.number}"
    if via == "opened":
        entries = [TimelineEntry(report.created_at, report.reporter, "declared",
                                 f"Declared an incident: {report.title}", url=report.url,
                                 key=key)]
    else:
        entries = [
            TimelineEntry(report.created_at, report.reporter, "declared",
                          f"Reported: {report.title}", url=report.url),
            TimelineEntry(max(report.event_at, report.created_at), report.sender, "declared",
                          "Declared an incident by adding the incident label", key=key),
        ]
    lag = now - report.created_at
    if lag > RECORDING_LAG:
        entries.append(TimelineEntry(now, ACTOR, "recorded",
                                     f"Adopted by Watchkeeper, {duration(lag)} after the report"))
    entries.append(TimelineEntry(now, ACTOR, "severity", _severity_note(severity, origin)))
    return tuple(entries)


def _severity_note(severity: Severity, origin: SeveritySource) -> str:
    if origin == "label":
        return f"Initial severity {severity}, from the {SEVERITY_PREFIX}{severity} label"
    if origin == "form":
        return f"Initial severity {severity}, as reported in the form"
    return f"Initial severity {severity} (none given; the reporter is asked to confirm)"


def adoption_actions(incident: Incident, report: Report, origin: SeveritySource,
                     config: Config, now: datetime) -> tuple[AnyAction, ...]:
    labels = incident_labels(incident)
    wanted = {label.name.lower() for label in labels}
    stale = tuple(name for name in report.labels
                  if name.lower().startswith(SEVERITY_PREFIX) and name.lower() not in wanted)
    missing = tuple(label.name for label in labels if not has_label(report.labels, label.name))
    sections = ((INTRO_SECTION, intro(incident, report, origin)),
                *render_sections(incident, config, now).items())
    actions: list[Action] = [
        EnsureLabels(incident.tracker_repo, labels),
        UpdateIssueSections(incident.id, incident.tracker_repo, sections,
                            title=render_title(incident)),
    ]
    if stale:  # one severity at a time: the most severe of those given wins
        actions.append(RemoveLabels(incident.id, incident.tracker_repo, stale))
    if missing:
        actions.append(AddLabels(incident.id, incident.tracker_repo, missing))
    if origin == "default":
        actions.append(Comment(incident.id, incident.tracker_repo,
                               confirm_severity_comment(incident, report),
                               key=f"declared-severity:{incident.id}"))
    summary = f"Declared by {report.sender}: {report.title}"
    return (*actions, *notifications_for(incident, "opened", config, summary, now=now))


def intro(incident: Incident, report: Report, origin: SeveritySource) -> str:
    """The first section Watchkeeper adds below the report."""
    where = {"label": f"from the {code(SEVERITY_PREFIX + incident.severity)} label",
             "form": "as reported in the form",
             "default": "by default, until someone confirms it"}[origin]
    return "\n".join([
        "---",
        "",
        incident_marker(incident.id),
        f"**Security incident {neutralise(incident.id, max_len=64)}**, severity "
        f"**{incident.severity}** ({where}), reported by "
        f"{neutralise(report.reporter, max_len=60)} at {utc(report.created_at)}.",
        "",
        "Watchkeeper adopted this issue: the report above is kept as written, and the "
        "sections below are kept up to date from the incident record (anything written "
        "outside them is kept too). Responders work the incident here: tick the checklist "
        "as you go; one `severity:<level>` label sets the severity and the SLA targets.",
    ])


def confirm_severity_comment(incident: Incident, report: Report) -> str:
    levels = ", ".join(code(f"{SEVERITY_PREFIX}{s}") for s in ("critical", "high", "medium",
                                                               "low"))
    return (
        f"{mention(report.reporter)} thank you for the report. No severity was given, so "
        f"incident {neutralise(incident.id, max_len=64)} starts at **{incident.severity}** "
        "and its SLA deadlines follow from that.\n\n"
        f"Please confirm or correct it by setting one label: {levels}. Critical covers "
        "tenant data leaks, authentication bypasses and leaked production credentials; "
        "high, exploitable injection or request-forgery paths."
    )
