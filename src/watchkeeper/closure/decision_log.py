"""The project's decision log (`docs/02-planning/decision-log.md` by default): the runbook
says key decisions are tracked there, so each incident's `/decision`s are appended.

Each incident owns one marked section in the file; closing again replaces that section
only, so entries people wrote, and other incidents' sections, are never touched.
"""

from __future__ import annotations

import re

from watchkeeper.closure import facts
from watchkeeper.record import Incident
from watchkeeper.render.escape import link, neutralise
from watchkeeper.render.markers import splice
from watchkeeper.render.times import utc

NEW_FILE = (
    "# Decision log\n\n"
    "Key decisions and why they were taken, as the incident-response runbook asks. "
    "Watchkeeper appends each incident's decisions (recorded with /decision) in a marked "
    "section when the incident is closed.\n"
)
_ID = re.compile(r"[^a-z0-9_-]")


def section_name(incident_id: str) -> str:
    """"decisions-inc-2026-0007": a valid marker name (lower case, at most 40 characters)."""
    return ("decisions-" + _ID.sub("-", incident_id.lower()))[:40].rstrip("-")


def block(incident: Incident, issue_url: str | None) -> str | None:
    """The incident's entry, or None when it recorded no decisions."""
    said = facts.decisions(incident)
    if not said:
        return None
    ref = link(incident.id, issue_url) if issue_url else neutralise(incident.id, max_len=64)
    lines = [f"## {utc(incident.detected_at)[:10]} · {neutralise(incident.id, max_len=64)}: "
             f"{neutralise(incident.title, max_len=150)}", "",
             f"Incident {ref}, severity {incident.severity}.", "",
             "| Date (UTC) | Decision | By |", "| --- | --- | --- |"]
    lines += [f"| {utc(s.at).removesuffix(' UTC')} | {neutralise(s.text, max_len=1000)} | "
              f"{neutralise(s.actor, max_len=60)} |" for s in said]
    return "\n".join(lines)


def updated(existing: str | None, incident: Incident, issue_url: str | None) -> str | None:
    """The file with the incident's section added or replaced; None: nothing to write."""
    entry = block(incident, issue_url)
    if entry is None:
        return None
    return splice(existing if existing is not None else NEW_FILE,
                  {section_name(incident.id): entry})
