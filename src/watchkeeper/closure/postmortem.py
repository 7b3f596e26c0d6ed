"""The postmortem file: the runbook's Postmortem Template filled from the record, then the
preventive actions, decisions, the full timeline and the evidence.

The parts Watchkeeper writes sit between section markers (as in the incident issue). When
the incident is closed again the file is refreshed by splicing those sections into the file
on the branch: what people wrote outside them is kept, template cells people filled in are
not turned back into placeholders, and the Owner / Due Date of preventive actions survive.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from watchkeeper.closure import facts, fields, preventive
from watchkeeper.record import Incident
from watchkeeper.render.escape import neutralise
from watchkeeper.render.markers import extract, section, splice
from watchkeeper.render.sections import evidence_row, timeline_row
from watchkeeper.render.times import utc
from watchkeeper.runbook.model import Config

# The runbook's Postmortem Template, field by field, in its order.
TEMPLATE_FIELDS: tuple[str, ...] = (
    "Incident ID", "Severity", "Start / End Time", "Detection Method", "Root Cause",
    "Customer Impact", "Containment Actions", "Permanent Fix", "Preventive Actions",
    "Owners and Due Dates",
)
SECTIONS = ("fields", "preventive", "decisions", "timeline", "evidence")


def file_marker(incident_id: str) -> str:
    return f"<!-- watchkeeper:postmortem {neutralise(incident_id, max_len=64)} -->"


@dataclass(frozen=True, slots=True)
class Inputs:
    """What the postmortem needs beyond the record and config."""

    closed_at: datetime | None
    commit_time: datetime | None
    issue_url: str | None


def field_cells(incident: Incident, config: Config, inputs: Inputs,
                proposals: int) -> dict[str, str]:
    return {
        "Incident ID": fields.incident_id(incident, inputs.issue_url),
        "Severity": fields.severity(incident),
        "Start / End Time": fields.times(incident, config, inputs.closed_at),
        "Detection Method": fields.detection(incident, inputs.commit_time),
        "Root Cause": fields.root_cause(incident),
        "Customer Impact": fields.customer_impact(incident),
        "Containment Actions": fields.containment(incident, config),
        "Permanent Fix": fields.permanent_fix(incident),
        "Preventive Actions": fields.preventive(proposals),
        "Owners and Due Dates": fields.owners(incident),
    }


def fields_table(cells: dict[str, str]) -> str:
    lines = ["| Field | Details |", "| --- | --- |"]
    lines += [f"| {name} | {cells[name]} |" for name in TEMPLATE_FIELDS]
    return "\n".join(lines)


def decisions_list(incident: Incident) -> str:
    said = facts.decisions(incident)
    if not said:
        return "_No decisions were recorded with /decision._"
    return "\n".join(f"- {utc(s.at)}: {neutralise(s.text, max_len=1000)} "
                     f"({neutralise(s.actor, max_len=60)})" for s in said)


def timeline_table(incident: Incident) -> str:
    rows = [timeline_row(e) for e in sorted(incident.timeline, key=lambda e: e.at)]
    return "\n".join(["| Time (UTC) | Actor | Event |", "| --- | --- | --- |", *rows])


def evidence_list(incident: Incident) -> str:
    items = sorted(incident.evidence, key=lambda e: (e.at is None, e.at or datetime.min))
    return "\n".join(evidence_row(item) for item in items) or "_No evidence recorded._"


def render_sections(incident: Incident, config: Config, inputs: Inputs) -> dict[str, str]:
    """Section name -> content, for a fresh file or a splice into an existing one."""
    found = preventive.proposals(incident, fields.detection_lag(incident, inputs.commit_time))
    return {
        "fields": fields_table(field_cells(incident, config, inputs, len(found))),
        "preventive": preventive.render_table(found),
        "decisions": decisions_list(incident),
        "timeline": timeline_table(incident),
        "evidence": evidence_list(incident),
    }


def render(incident: Incident, config: Config, inputs: Inputs) -> str:
    """The whole file for a first commit."""
    parts = render_sections(incident, config, inputs)
    title = neutralise(incident.title, max_len=200)
    return "\n\n".join([
        file_marker(incident.id),
        f"# Postmortem {neutralise(incident.id, max_len=64)}: {title}",
        "Filled in by Watchkeeper from the incident record. Review it in this pull request: "
        "replace the placeholders, complete the preventive actions, and write the analysis "
        "outside the hidden watchkeeper markers. If the incident is closed again, the marked "
        "sections are refreshed from the record; cells you filled in are kept.",
        "## Postmortem", section("fields", parts["fields"]),
        "## Preventive Actions",
        "From the runbook's recovery and preventive controls that fit this incident. "
        + neutralise(preventive.CONTROL_TRACK),
        section("preventive", parts["preventive"]),
        "## Decisions", section("decisions", parts["decisions"]),
        "## Timeline", section("timeline", parts["timeline"]),
        "## Evidence", section("evidence", parts["evidence"]),
    ]) + "\n"


# --- refreshing an existing file -----------------------------------------------------------


def _cells_by_field(table: str | None) -> dict[str, str]:
    found: dict[str, str] = {}
    for line in (table or "").splitlines():
        cells = preventive.split_cells(line) if line.lstrip().startswith("|") else []
        if len(cells) >= 2 and cells[0] in TEMPLATE_FIELDS:
            found[cells[0]] = " | ".join(cells[1:]) if len(cells) > 2 else cells[1]
    return found


def _keep_filled(fresh: str, existing: str | None) -> str:
    """The fresh template table, but a placeholder never replaces a cell people filled."""
    old = _cells_by_field(existing)
    new = _cells_by_field(fresh)
    for name, cell in new.items():
        if cell.startswith(fields.PLACEHOLDER) and old.get(name) and not old[name].startswith(
                fields.PLACEHOLDER):
            new[name] = old[name]
    return fields_table(new) if set(new) == set(TEMPLATE_FIELDS) else fresh


def refresh(existing: str | None, incident_id: str, document: str,
            sections: Mapping[str, str], proposals: Sequence[preventive.Proposal]) -> str:
    """The file to commit, given the one on the branch (None: there is none).

    `document` and `sections` come from `render` / `render_sections`; `proposals` are the
    preventive rows they hold, matched by key against the rows already in the file.
    """
    if existing is None:
        return document
    if file_marker(incident_id) not in existing:
        # Someone started this file by hand: keep all of it, add ours underneath.
        return existing.rstrip("\n") + "\n\n---\n\n" + document
    parts = dict(sections)
    if "fields" in parts:
        parts["fields"] = _keep_filled(parts["fields"], extract(existing, "fields"))
    if "preventive" in parts:
        old_rows = preventive.parse_rows(extract(existing, "preventive") or "")
        parts["preventive"] = preventive.render_table(proposals, old_rows)
    return splice(existing, parts)
