"""Severity changes, whether through a `severity:<level>` label or `/severity <level>`.

One severity at a time: the newest wins and every other severity label goes. Deadlines are
recomputed from the original detection time (the SLA clock never restarts), so a raise can
put deadlines in the past at once: the comment says which.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from watchkeeper.incident import severity_label
from watchkeeper.lifecycle import replies
from watchkeeper.lifecycle.draft import Draft
from watchkeeper.lifecycle.phases import sla_deadlines
from watchkeeper.record import SEVERITIES, Incident
from watchkeeper.render.comments import internal_update_line
from watchkeeper.render.sections import SLA_ROWS
from watchkeeper.render.times import utc
from watchkeeper.runbook.model import Config

PREFIX = "severity:"
STEP_MILESTONE = {step: milestone for step, _, milestone in SLA_ROWS}


def label_level(label: str | None) -> str | None:
    """"severity:High" -> "high"; None for other labels and unknown levels."""
    if not label or not label.lower().startswith(PREFIX):
        return None
    level = label[len(PREFIX):].strip().lower()
    return level if level in SEVERITIES else None


def severity_labels(labels: Sequence[str]) -> tuple[str, ...]:
    return tuple(name for name in labels if name.lower().startswith(PREFIX))


def change(draft: Draft, level: str, actor: str, at: datetime, via: str,
           labels: Sequence[str], *, key: str | None = None, url: str | None = None
           ) -> str | None:
    """Switch to `level`; returns the comment text (None when it is already the level)."""
    before = draft.incident
    if level == before.severity or level not in SEVERITIES:
        return None
    spec = severity_label(level)
    others = tuple(name for name in severity_labels(labels) if name.lower() != spec.name)
    present = any(name.lower() == spec.name for name in labels)
    draft.relabel(remove=others, add=() if present else (spec.name,), specs=(spec,))
    draft.incident = before.replace(severity=level)
    draft.log(at, actor, "severity", f"Severity changed from {before.severity} to {level} "
              f"({via})", key=key, url=url, data=(("from", before.severity), ("to", level)))
    draft.show("summary", "sla")
    draft.retitle = True
    draft.notify("severity_changed",
                 f"Severity changed from {before.severity} to {level} by {actor} ({via})",
                 key=f"severity_changed:{key or at.isoformat()}:{level}")
    return _comment(draft, before.severity, actor, via)


def _comment(draft: Draft, old: str, actor: str, via: str) -> str:
    incident, now = draft.incident, draft.now
    due = sla_deadlines(incident, draft.config)
    rows = [(title.lower(), due.get(step)) for step, title, _ in SLA_ROWS if step in due]
    past = [(title.lower(), when) for step, title, milestone in SLA_ROWS
            if (when := due.get(step)) is not None and when < now
            and incident.milestone(milestone) is None]
    line = internal_update_line(incident.id, incident.severity,
                                *latest_status(incident, draft.config, now))
    return replies.severity_changed(old, incident.severity, actor, via, incident.detected_at,
                                    rows, past, now, line)


def latest_status(incident: Incident, config: Config, now: datetime
                  ) -> tuple[str | None, str | None, str | None]:
    """Impact, mitigation and next update for an internal update line: the last `/status`
    where there is one; the next update defaults to the next SLA deadline still ahead."""
    last = next((dict(e.data) for e in reversed(incident.timeline)
                 if e.kind == "status_update"), {})
    upcoming = sorted(when for step, when in sla_deadlines(incident, config).items()
                      if when is not None and when > now
                      and incident.milestone(STEP_MILESTONE[step]) is None)
    fallback = utc(upcoming[0]) if upcoming else None
    return last.get("impact"), last.get("mitigation"), last.get("next") or fallback
