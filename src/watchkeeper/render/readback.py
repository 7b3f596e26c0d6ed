"""An incident record read back from its issue, for when the database is lost.

The hidden metadata (`render.issue.meta_data`) carries the record except its timeline,
evidence, SLA-clock cache, closure and freeze state. The timeline and evidence are read back
from their rendered sections, as far as rendering kept them:

- times are to the minute, texts as shown (cut at 300 characters), the rows the issue
  size limit dropped are gone;
- entry kinds are inferred from the text, structured data (a status update's fields, a
  decision's text) and replay keys are not recoverable;
- the SLA clock recomputes its cache; the postmortem pull request, follow-ups and an active
  deployment freeze are not known to the rebuilt record.

`rebuilt_incident` adds a timeline entry saying so. Pure: no I/O, `now` comes in.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from watchkeeper.record import Evidence, Incident, TimelineEntry
from watchkeeper.render.escape import ZWJ
from watchkeeper.render.issue import incident_from_meta
from watchkeeper.render.markers import extract, read_meta
from watchkeeper.render.sections import EVIDENCE_NAMES

REBUILT_KIND = "rebuilt"
LOST = ("timeline entries and evidence are read back from the issue as shown (times to the "
        "minute, kinds inferred, their structured data and replay keys lost)",
        "the postmortem pull request, follow-up issues and any deployment freeze are not "
        "known to the rebuilt record",
        "the SLA clock's cached deadlines are recomputed by the next sweep")
_TIME = "%Y-%m-%d %H:%M"
_LINK_TAIL = re.compile(r"(?:^| )\(\[link\]\((https://[^\s()]+)\)\)$")
_LINK = re.compile(r"^\[(.*)\]\((https://[^\s()]+)\)$")
_IDENT = re.compile(r"^(\S+) (`+) ?(.*?) ?\2$")
_ENTITIES = (("&lt;", "<"), ("&gt;", ">"), ("&amp;", "&"))
# Timeline texts Watchkeeper writes, by how they start, and the kind they were written as.
_KIND_PREFIXES = (
    ("Detected:", "detected"), ("Recorded by Watchkeeper", "recorded"),
    ("Occurred again", "occurrence"), ("Signal recovered", "recovered"),
    ("Ticked", "checklist"), ("Reopened", "reopened"), ("Closed", "closed"),
    ("Severity changed", "severity"), ("Postmortem pull request", "postmortem"),
    ("Definition of Done", "dod"), ("Follows incident", "recorded"),
)
_NAMES_TO_KIND = {name: kind for kind, name in EVIDENCE_NAMES.items()}


def unescape(text: str) -> str:
    """Undo `render.escape.neutralise` (joiners, entities, backslash escapes)."""
    out: list[str] = []
    chars = iter(text.replace(ZWJ, ""))
    for ch in chars:
        if ch == "\\":
            out.append(next(chars, "\\"))
        else:
            out.append(ch)
    result = "".join(out)
    for entity, char in _ENTITIES:
        result = result.replace(entity, char)
    return result


def _cells(row: str) -> list[str]:
    """A markdown table row split at the pipes no backslash escapes."""
    cells: list[str] = []
    current: list[str] = []
    chars = iter(row.strip())
    for ch in chars:
        if ch == "\\":
            current += [ch, next(chars, "")]
        elif ch == "|":
            cells.append("".join(current).strip())
            current = []
        else:
            current.append(ch)
    cells.append("".join(current).strip())
    return cells[1:-1] if len(cells) >= 2 and not cells[0] and not cells[-1] else cells


def _time(text: str) -> datetime | None:
    try:
        return datetime.strptime(text.strip().removesuffix(" UTC"), _TIME).replace(tzinfo=UTC)
    except ValueError:
        return None


def _kind(text: str) -> str:
    return next((kind for prefix, kind in _KIND_PREFIXES if text.startswith(prefix)),
                REBUILT_KIND)


def parse_timeline(section: str | None) -> tuple[tuple[TimelineEntry, ...], int]:
    """(entries, how many the issue said it left out) from a rendered timeline section."""
    entries: list[TimelineEntry] = []
    omitted = 0
    for line in (section or "").splitlines():
        if m := re.match(r"^_(\d+) earlier entries not shown", line):
            omitted = int(m.group(1))
        if not line.startswith("| ") or line.startswith(("| Time", "| ---")):
            continue
        cells = _cells(line)
        if len(cells) != 3 or (at := _time(cells[0])) is None:
            continue
        text, url = cells[2], None
        if m := _LINK_TAIL.search(text):
            text, url = text[: m.start()], m.group(1)
        text = unescape(text)
        entries.append(TimelineEntry(at, unescape(cells[1]), _kind(text), text, url=url))
    return tuple(entries), omitted


def parse_evidence(section: str | None) -> tuple[tuple[Evidence, ...], int]:
    """(items, how many the issue said it left out) from a rendered evidence section."""
    items: list[Evidence] = []
    omitted = 0
    for line in (section or "").splitlines():
        if m := re.match(r"^_(\d+) older item\(s\) not shown", line):
            omitted = int(m.group(1))
        if not line.startswith("- "):
            continue
        parts = line[2:].split(" · ")
        at = _time(parts[0]) if parts else None
        if at is not None:
            parts = parts[1:]
        if len(parts) < 2:
            continue
        kind = _NAMES_TO_KIND.get(unescape(parts[0]), unescape(parts[0]))
        idents: list[tuple[str, str]] = []
        while len(parts) > 2 and (m := _IDENT.match(parts[-1])):
            idents.insert(0, (unescape(m.group(1)), m.group(3)))
            parts = parts[:-1]
        shown = " · ".join(parts[1:])
        url = None
        if m := _LINK.match(shown):
            shown, url = m.group(1), m.group(2)
        title = unescape(shown)
        digest = hashlib.sha256(repr((kind, title, idents)).encode()).hexdigest()[:16]
        items.append(Evidence(f"rebuilt:{digest}", kind, title, url, tuple(idents), at))
    return tuple(items), omitted


@dataclass(frozen=True, slots=True)
class Rebuilt:
    incident: Incident
    notes: tuple[str, ...]  # what could not be recovered, for the operator


def rebuilt_incident(body: str | None, *, number: int, repo: str, state: str,
                     now: datetime, closed_at: datetime | None = None) -> Rebuilt | None:
    """The record behind an incident issue (``repo``#``number``, ``state`` open/closed);
    None when the body holds no readable Watchkeeper metadata."""
    meta: dict[str, Any] | None = read_meta(body)
    incident = incident_from_meta(meta) if meta is not None else None
    if incident is None:
        return None
    timeline, t_omitted = parse_timeline(extract(body, "timeline"))
    evidence, e_omitted = parse_evidence(extract(body, "evidence"))
    notes: list[str] = list(LOST)
    if t_omitted or e_omitted:
        notes.append(f"the issue showed only the newest entries: {t_omitted} timeline "
                     f"entries and {e_omitted} evidence items are lost")
    status = incident.status
    if state == "closed" and status != "closed":
        status = "closed"
    elif state == "open" and status == "closed":
        status = "open"  # reopened by a person while nobody was listening
    entry = TimelineEntry(now, "watchkeeper", REBUILT_KIND,
                          "Incident record rebuilt from this issue after Watchkeeper's "
                          "database was lost; " + "; ".join(notes),
                          key=f"rebuilt:{now.isoformat()}")
    incident = incident.replace(
        issue_number=number, tracker_repo=repo, status=status,
        closed_at=(incident.closed_at or closed_at or now) if status == "closed" else None,
        timeline=(*_without(timeline, incident), entry), evidence=evidence, version=1)
    return Rebuilt(incident, tuple(notes))


def _without(entries: Sequence[TimelineEntry], incident: Incident) -> tuple[TimelineEntry, ...]:
    """The occurrence key the metadata kept goes back on the last detection or occurrence, so
    a replay of the latest event is still recognised."""
    key = incident.occurrences.last_event_key
    out = list(entries)
    for i in range(len(out) - 1, -1, -1):
        if key and out[i].kind in ("detected", "occurrence", "reopened"):
            e = out[i]
            out[i] = TimelineEntry(e.at, e.actor, e.kind, e.text, e.url, key, e.data)
            break
    return tuple(out)
