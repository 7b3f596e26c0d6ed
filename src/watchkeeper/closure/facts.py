"""Reading the record for closing: what was deployed, said, decided and done, and when.

Other features write the record (responders' commands and ticks, evidence from pull
requests and deployments); these readers rely only on the agreed timeline kinds, the
structured `data` of entries and evidence identifiers, and tolerate entries without them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from watchkeeper.record import Evidence, Incident, TimelineEntry

FAILED_STATES = frozenset({"failure", "error", "failed", "cancelled"})


def entries(incident: Incident, *kinds: str) -> list[TimelineEntry]:
    """Timeline entries of these kinds, oldest first."""
    return sorted((e for e in incident.timeline if e.kind in kinds), key=lambda e: e.at)


def data(entry: TimelineEntry) -> dict[str, str]:
    return dict(entry.data)


def ids(item: Evidence) -> dict[str, str]:
    return dict(item.identifiers)


# --- the permanent fix ----------------------------------------------------------------


def _failed(values: dict[str, str]) -> bool:
    return (values.get("state") or values.get("status") or "").lower() in FAILED_STATES


def fix_deployments(incident: Incident) -> list[TimelineEntry]:
    """"Fix deployed" records (a successful deployment of a linked fix commit)."""
    found = []
    for entry in entries(incident, "deployment"):
        values = data(entry)
        flagged = values.get("fix", "").lower() in ("true", "yes", "1")
        if (flagged or "fix deployed" in entry.text.lower()) and not _failed(values):
            found.append(entry)
    return found


def fix_deployed_at(incident: Incident) -> tuple[datetime | None, str]:
    """When the permanent fix went out, and how that is known; (None, "") when not."""
    deployed = fix_deployments(incident)
    if deployed:
        return deployed[-1].at, "fix deployed"
    fixed = incident.milestone("fixed")
    if fixed is not None:
        return fixed, "fixed milestone"
    return None, ""


def merged_pulls(incident: Incident) -> list[Evidence]:
    """Pull requests recorded as merged (the fix candidates), oldest first."""
    found = []
    for item in incident.evidence:
        values = ids(item)
        if item.kind == "pull_request" and (values.get("merge_sha")
                                            or values.get("state", "").lower() == "merged"):
            found.append(item)
    return sorted(found, key=lambda e: (e.at is None, e.at or datetime.min))


def deployments(incident: Incident) -> list[Evidence]:
    return [item for item in incident.evidence if item.kind == "deployment"]


# --- people's words -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Said:
    at: datetime
    actor: str
    text: str


def _said(entry: TimelineEntry, *keys: str) -> Said:
    values = data(entry)
    text = next((values[k] for k in keys if values.get(k)), "") or entry.text
    return Said(entry.at, entry.actor, text)


def root_cause(incident: Incident) -> Said | None:
    """The latest `/rootcause`, if any."""
    found = entries(incident, "rootcause")
    return _said(found[-1], "text", "root_cause", "rootcause") if found else None


def decisions(incident: Incident) -> list[Said]:
    return [_said(e, "text", "decision") for e in entries(incident, "decision")]


def impacts(incident: Incident) -> list[Said]:
    """Customer impact as the status updates and customer updates stated it."""
    found = []
    for entry in entries(incident, "status_update", "customer_update"):
        values = data(entry)
        if entry.kind == "status_update" and values.get("impact"):
            found.append(Said(entry.at, entry.actor, values["impact"]))
        elif entry.kind == "customer_update" and values.get("scope"):
            found.append(Said(entry.at, entry.actor, f"Affecting {values['scope']}"
                              + (f"; status: {values['status']}" if values.get("status")
                                 else "")))
        elif not entry.data:
            found.append(Said(entry.at, entry.actor, entry.text))
    return found


def communications(incident: Incident) -> list[TimelineEntry]:
    return entries(incident, "status_update", "customer_update")


def severity_changes(incident: Incident) -> list[tuple[TimelineEntry, str, str]]:
    """(entry, from, to) for each recorded severity change."""
    found = []
    for entry in entries(incident, "severity"):
        values = data(entry)
        found.append((entry, values.get("from", ""), values.get("to", "")))
    return found


def initial_severity(incident: Incident) -> str:
    changes = severity_changes(incident)
    return changes[0][1] or incident.severity if changes else incident.severity


def ticked_by(incident: Incident) -> dict[str, TimelineEntry]:
    """Checklist key -> the timeline entry of its latest tick."""
    found: dict[str, TimelineEntry] = {}
    for entry in entries(incident, "checklist"):
        values = data(entry)
        key = values.get("item")
        if not key:
            continue
        if values.get("ticked", "true") == "true":
            found[key] = entry
        else:
            found.pop(key, None)
    return found


def first(items: Iterable[datetime | None]) -> datetime | None:
    present = [when for when in items if when is not None]
    return min(present) if present else None
