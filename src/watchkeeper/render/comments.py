"""Comments Watchkeeper posts on an incident issue, and the runbook's update templates.

Template fields typed by people (impact, status, scope) are neutralised like
payload text: a status line must not page a team or inject markup.
"""

from __future__ import annotations

from datetime import datetime

from watchkeeper.record import Incident
from watchkeeper.render.escape import code, link, neutralise
from watchkeeper.render.sections import signal_noun
from watchkeeper.render.times import utc
from watchkeeper.signals.model import Signal


def _when(value: str | datetime | None) -> str:
    if isinstance(value, datetime):
        return utc(value)
    return neutralise(value, max_len=80) or "not set"


def occurrence_comment(incident: Incident, signal: Signal, *, window_minutes: int = 0) -> str:
    """Tells responders the signal fired again; `incident` is the updated record."""
    what = link(signal_noun(signal.source), signal.url) if signal.url else "the same signal"
    lines = [
        f"**Repeated:** {neutralise(signal.title, max_len=200)} — occurrence "
        f"{incident.occurrences.count} of incident {neutralise(incident.id, max_len=64)}, "
        f"{what} at {utc(signal.occurred_at)}"
        + (f" on commit {code(signal.commit_sha, max_len=64)}" if signal.commit_sha else "") + ".",
    ]
    if window_minutes > 0:
        lines += ["", f"Further repeats within {window_minutes} minutes update the count in the "
                      "issue body without another comment."]
    return "\n".join(lines)


def recovery_comment(incident: Incident, signal: Signal) -> str:
    """The signal passed again: prompt responders to validate containment, not to close."""
    what = link(signal_noun(signal.source), signal.url) if signal.url else "the signal"
    return (
        f"**Signal recovered:** {neutralise(signal.title, max_len=200)} — {what} at "
        f"{utc(signal.occurred_at)}.\n\n"
        "Validate containment before relying on it (logs, smoke tests, targeted checks) and "
        "tick the containment items when done. A passing check alone does not close incident "
        f"{neutralise(incident.id, max_len=64)}."
    )


def internal_update_line(
    incident_id: str,
    severity: str,
    impact: str | None,
    mitigation: str | None,
    next_update: str | datetime | None,
) -> str:
    """`Incident <ID> | Severity: <level> | Impact: <summary> | Mitigation: <status> |
    Next update: <time>` (the runbook's internal update)."""
    return (
        f"Incident {neutralise(incident_id, max_len=64)} | "
        f"Severity: {neutralise(severity, max_len=20)} | "
        f"Impact: {neutralise(impact, max_len=300) or 'not stated'} | "
        f"Mitigation: {neutralise(mitigation, max_len=300) or 'not stated'} | "
        f"Next update: {_when(next_update)}"
    )


def customer_update(scope: str | None, status: str | None,
                    next_update: str | datetime | None) -> str:
    """The runbook's customer-facing update, filled in (a draft for the Communications
    Owner to review and send)."""
    return (
        f"We identified an issue affecting {neutralise(scope, max_len=300) or 'some customers'}. "
        "We have contained the issue and are implementing a permanent fix. "
        f"Current status: {neutralise(status, max_len=300) or 'under investigation'}. "
        f"Next update by {_when(next_update)}."
    )
