"""One renderer per app-owned section of the incident issue.

Each returns the markdown between that section's markers. Inputs are the record
and the config; untrusted text is escaped here, trusted links are built here.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from watchkeeper.closure.model import Closure
from watchkeeper.record import Evidence, Incident, TimelineEntry
from watchkeeper.render.checklist import render_checklist
from watchkeeper.render.escape import code, link, mention, neutralise
from watchkeeper.render.times import duration, utc
from watchkeeper.runbook.model import CalendarConfig, Config
from watchkeeper.runbook.sla import deadlines_with_fallback

SOURCE_NAMES = {
    "workflow_run": "Workflow run",
    "check_run": "Check run",
    "code_scanning_alert": "Code scanning alert",
    "secret_scanning_alert": "Secret scanning alert",
    "dependabot_alert": "Dependabot alert",
    "alarm": "Production alarm",
    "declared": "Report",
}
# Evidence kinds beyond signal sources, as shown in the Evidence section.
EVIDENCE_NAMES = {
    **SOURCE_NAMES,
    "pull_request": "Pull request",
    "deployment": "Deployment",
    "commit": "Commit",
    "alert": "Alert",
    "workflow_job": "Failed step",
    "incident": "Incident",
    "postmortem": "Postmortem",
    "followup": "Follow-up issue",
}
RUN_SOURCES = ("workflow_run", "check_run")
# Signal facts shown in "What failed", in this order; other facts stay in the record.
FACT_LABELS = (
    ("workflow_name", "Workflow"),
    ("workflow_path", "Workflow file"),
    ("check_name", "Check"),
    ("app_slug", "App"),
    ("tool_name", "Tool"),
    ("rule_id", "Rule ID"),
    ("security_severity_level", "Security severity"),
    ("rule_severity", "Rule severity"),
    ("advisory_severity", "Advisory severity"),
    ("ghsa_id", "Advisory"),
    ("cve_id", "CVE"),
    ("package", "Package"),
    ("manifest_path", "Manifest"),
    ("secret_type", "Secret type"),
    ("alert_number", "Alert number"),
    ("run_id", "Run ID"),
    ("run_attempt", "Run attempt"),
    ("reporter", "Reported by"),
    ("alertname", "Alert"),
    ("service", "Service"),
    ("alarm_severity", "Alarm severity"),
)
ROLE_TITLES = {
    "incident_commander": "Incident Commander",
    "mitigation_owner": "Mitigation Owner",
    "communications_owner": "Communications Owner",
    "security_owner": "Security Owner",
}
SLA_ROWS = (("acknowledge", "Acknowledge", "acknowledged"), ("contain", "Contain", "contained"),
            ("fix", "Permanent fix", "fixed"))
DEFINITION_OF_DONE = (
    ("containment_verified", "Containment completed and verified."),
    ("fix_deployed", "Permanent fix deployed and monitored."),
    ("communication_done", "Stakeholder communication completed."),
    ("postmortem_published", "Postmortem published with actionable preventive work and owners."),
)
_DAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def _row(*cells: str) -> str:
    return "| " + " | ".join(cells) + " |"


def summary(incident: Incident) -> str:
    occ = incident.occurrences
    lag = incident.recorded_at - incident.detected_at
    rows = [
        ("Severity", f"**{incident.severity}**"),
        ("Repository", code(incident.repo, table=True)),
        ("Branch", code(incident.branch, table=True) or "n/a"),
        ("Commit", code(incident.commit_sha, table=True) or "n/a"),
        ("Source", link(SOURCE_NAMES.get(incident.source, incident.source), incident.url)),
        ("Detection rule", code(incident.rule, table=True)),
    ]
    facts = dict(incident.facts)
    rows += [(label, code(facts[key], table=True)) for key, label in FACT_LABELS if facts.get(key)]
    rows += [
        ("Detected", f"{utc(incident.detected_at)} (the signal's own time; SLA clocks start here)"),
        ("Recorded", utc(incident.recorded_at)
         + (f" ({duration(lag)} after detection)" if lag.total_seconds() >= 60 else "")),
        ("Occurrences", _occurrences(incident)),
    ]
    if occ.count > 1 and occ.last_commit:
        rows.append(("Latest commit", code(occ.last_commit, table=True)))
    lines = ["## What failed", "", f"**{neutralise(incident.title, max_len=200)}**", "",
             _row("Field", "Value"), _row("---", "---")]
    lines += [_row(k, v) for k, v in rows]
    if incident.config_problems:
        shown = [neutralise(p, max_len=300) for p in incident.config_problems[:5]]
        more = len(incident.config_problems) - len(shown)
        lines += ["", "**Configuration problems** (defaults apply): " + "; ".join(shown)
                  + (f"; and {more} more" if more > 0 else "")]
    return "\n".join(lines)


def _occurrences(incident: Incident) -> str:
    occ = incident.occurrences
    if occ.count <= 1:
        return "1"
    latest = f"latest {utc(occ.last_at)}"
    if occ.last_url:
        latest += ", " + link(signal_noun(incident.source), occ.last_url)
    return f"{occ.count} ({latest})"


def signal_noun(source: str) -> str:
    """"run" for workflow and check runs, "alert" for alerts."""
    return "run" if source in RUN_SOURCES else "alert"


def _calendar_line(calendar: CalendarConfig) -> str:
    days = sorted(set(calendar.workdays))
    if days and days == list(range(days[0], days[-1] + 1)) and len(days) > 1:
        names = f"{_DAY_NAMES[days[0]]}–{_DAY_NAMES[days[-1]]}"
    else:
        names = ", ".join(_DAY_NAMES[d] for d in days if 0 <= d < 7) or "none"
    extra = ""
    if calendar.holidays:
        extra += f", excluding {len(calendar.holidays)} configured holiday(s)"
    if calendar.holiday_country:
        extra += f" and public holidays in {neutralise(calendar.holiday_country, max_len=10)}"
    return f"Business days: {names} ({neutralise(calendar.timezone, max_len=40)}){extra}."


def sla(incident: Incident, config: Config, now: datetime) -> str:
    header = ["## SLA", ""]
    targets = config.sla.get(incident.severity)
    if targets is None:
        return "\n".join([*header, f"No SLA targets are configured for {incident.severity}."])
    notes: list[str] = []
    # "next release": the due date of the next open milestone, as the SLA clock found it.
    due, calendar, problem = deadlines_with_fallback(
        incident.detected_at, targets, config.calendar,
        next_release_due=incident.sla_clock.release_due)
    if problem is not None:
        notes.append(f"The configured calendar is unusable ({neutralise(str(problem))}); "
                     "Mon–Fri UTC applies.")
    lines = [*header, f"Severity **{incident.severity}**. Clocks start at detection, "
             f"{utc(incident.detected_at)}."]
    if any(getattr(targets, key).unit == "business_days" for key, _, _ in SLA_ROWS):
        lines[-1] += " " + _calendar_line(calendar)
    lines += notes
    lines += ["", _row("Milestone", "Target", "Deadline", "Status"),
              _row("---", "---", "---", "---")]
    for key, title, milestone in SLA_ROWS:
        deadline = due[key]
        reached = incident.milestone(milestone)
        lines.append(_row(title, getattr(targets, key).describe(),
                          _deadline_cell(deadline, getattr(targets, key).unit, incident),
                          _sla_status(incident.detected_at, deadline, reached, now)))
    return "\n".join(lines)


def _deadline_cell(deadline: datetime | None, unit: str, incident: Incident) -> str:
    if deadline is None:
        return "none (no open milestone with a due date)" if unit == "next_release" else "none"
    title = incident.sla_clock.release_title
    if unit == "next_release" and title:
        return f"{utc(deadline)} (milestone {neutralise(title, max_len=60)})"
    return utc(deadline)


def _sla_status(start: datetime, deadline: datetime | None, reached: datetime | None,
                now: datetime) -> str:
    if reached is not None:
        if deadline is not None and reached > deadline:
            return f"missed (by {duration(reached - deadline)})"
        return f"met (after {duration(reached - start)})"
    if deadline is not None and now >= deadline:  # the SLA clock breaches at the deadline
        return f"**overdue** (by {duration(now - deadline)})"
    if deadline is not None:
        return f"pending ({duration(deadline - now)} left)"
    return "pending"


def roles(incident: Incident, config: Config) -> str:
    lines = ["## Roles", "", _row("Role", "Assigned", "Backup"), _row("---", "---", "---")]
    for key, title in ROLE_TITLES.items():
        cfg = config.roles.get(key)
        assigned = incident.role(key)
        if assigned:
            who = mention(assigned)
        elif cfg is not None and cfg.default:
            who = f"unassigned (default: {mention(cfg.default)})"
        else:
            who = "unassigned"
        backup = neutralise(cfg.backup_title, max_len=60) if cfg and cfg.backup_title else ""
        if cfg is not None and cfg.backup:
            # Named, not mentioned: backups are not paged by every incident.
            backup = f"{backup}: {neutralise(cfg.backup, max_len=100)}" if backup else \
                neutralise(cfg.backup, max_len=100)
        lines.append(_row(title, who, backup or "none"))
    return "\n".join(lines)


def checklist(incident: Incident, config: Config) -> str:
    intro = ("Tick items as you go: Watchkeeper records who ticked what and when, "
             "and the milestones they mark.")
    body = render_checklist(config.checklist, incident.checklist_done)
    return "\n".join(["## Response checklist", "", intro, "", body])


def evidence(items: Sequence[Evidence], omitted: int = 0) -> str:
    lines = ["## Evidence", ""]
    if omitted:
        lines += [f"_{omitted} older item(s) not shown (issue size limit); "
                  "Watchkeeper's record keeps them all._", ""]
    if not items and not omitted:
        lines.append("_Nothing recorded yet: linked pull requests, workflow runs, deployments "
                     "and alert changes appear here._")
    lines += [evidence_row(item) for item in items]
    return "\n".join(lines)


def evidence_row(item: Evidence) -> str:
    parts = [utc(item.at)] if item.at else []
    parts.append(neutralise(EVIDENCE_NAMES.get(item.kind, item.kind), max_len=40))
    parts.append(link(item.title, item.url))
    parts += [f"{neutralise(name, max_len=30)} {code(value, max_len=80)}"
              for name, value in item.identifiers]
    return "- " + " · ".join(parts)


def timeline(entries: Sequence[TimelineEntry], omitted: int = 0) -> str:
    lines = ["## Timeline", ""]
    if omitted:
        lines += [f"_{omitted} earlier entries not shown (issue size limit); "
                  "Watchkeeper's record keeps them all._", ""]
    lines += [_row("Time (UTC)", "Actor", "Event"), _row("---", "---", "---")]
    lines += [timeline_row(entry) for entry in entries]
    return "\n".join(lines)


def timeline_row(entry: TimelineEntry) -> str:
    text = neutralise(entry.text, max_len=300)
    if entry.url:
        text += " (" + link("link", entry.url) + ")"
    return _row(utc(entry.at).removesuffix(" UTC"), neutralise(entry.actor, max_len=60), text)


def definition_of_done(closure: Closure | None = None) -> str:
    """The runbook's list; once the incident was closed, each item's state at the last
    check, the postmortem pull request and its follow-up issues."""
    lines = ["## Definition of Done", "", "Close the incident only when all of these hold:", ""]
    if closure is None or not closure.dod:
        lines += [f"- {text}" for _, text in DEFINITION_OF_DONE]
    else:
        state = {item.key: item for item in closure.dod}
        for key, text in DEFINITION_OF_DONE:
            item = state.get(key)
            mark = "" if item is None else ("✅ " if item.met else "❌ ")
            detail = f" _{neutralise(item.detail, max_len=300)}_" if item and item.detail else ""
            lines.append(f"- {mark}{text}{detail}")
        lines += ["", f"Checked {utc(closure.evaluated_at)}."]
    if closure is not None and closure.postmortem_pr is not None:
        state_text = "merged" if closure.published_at else "in review"
        pull = link(f"pull request {closure.postmortem_pr}", closure.postmortem_url)
        lines += ["", f"Postmortem: {pull} ({state_text})."]
    if closure is not None and closure.followups:
        lines += ["", "Follow-up issues:"]
        lines += [f"- {link(f'issue {f.number}', f.url) if f.number else 'not opened yet'}: "
                  f"{neutralise(f.title, max_len=150)} (owner {neutralise(f.owner, max_len=60)}, "
                  f"due {neutralise(f.due, max_len=10)})" for f in closure.followups]
    return "\n".join(lines)
