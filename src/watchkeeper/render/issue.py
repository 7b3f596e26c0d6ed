"""The incident issue: title, app-owned body sections and the whole first body.

The body is rendered from the stored record only, so any replica renders the
same text. Sections are kept under a size budget below GitHub's 65,536-character
limit, leaving room for what people write around them: the timeline and evidence
lose their oldest entries first, with a note saying so.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from watchkeeper.record import (
    Evidence,
    Incident,
    TimelineEntry,
    incident_from_json,
    incident_to_json,
)
from watchkeeper.render import sections as render
from watchkeeper.render.escape import plain
from watchkeeper.render.markers import incident_marker, meta_comment, section
from watchkeeper.runbook.model import Config

SECTION_ORDER: tuple[str, ...] = (
    "summary", "sla", "roles", "checklist", "evidence", "timeline", "dod", "meta",
)
BODY_LIMIT = 65_536  # GitHub rejects longer bodies (422)
SECTIONS_BUDGET = 60_000  # ours; the rest is headroom for text people add
TITLE_LIMIT = 256
META_SCHEMA = 1
# Record fields left out of the hidden metadata: rendered in full elsewhere, or
# meaningful only to one store.
_META_SKIP = ("timeline", "evidence", "version", "config_problems", "sla_clock",
              "closure", "freeze", "stale_sections", "sections_refreshed_at")


def render_title(incident: Incident) -> str:
    """"[INC-2026-0007] critical: Secret scan failed on main in owner/repo"."""
    head = f"[{plain(incident.id, max_len=64)}] {incident.severity}: "
    room = max(TITLE_LIMIT - len(head), 1)
    return head + plain(incident.title, max_len=room)


def meta_data(incident: Incident) -> dict[str, Any]:
    """Enough of the record to rebuild the store from the issue (see incident_from_meta)."""
    data: dict[str, Any] = json.loads(incident_to_json(incident))
    for key in _META_SKIP:
        data.pop(key, None)
    return {"schema": META_SCHEMA, **data}


def incident_from_meta(data: Mapping[str, Any]) -> Incident | None:
    """The record rebuilt from hidden metadata (timeline and evidence are not in it);
    None when the metadata is not ours or is damaged."""
    if data.get("schema") != META_SCHEMA:
        return None
    try:
        return incident_from_json(json.dumps(dict(data)))
    except (TypeError, ValueError, KeyError):
        return None


def _size(sections: Mapping[str, str]) -> int:
    return sum(len(section(name, text)) + 2 for name, text in sections.items())


def render_sections(incident: Incident, config: Config, now: datetime) -> dict[str, str]:
    """Section name -> markdown, in SECTION_ORDER, within SECTIONS_BUDGET characters."""
    timeline = sorted(incident.timeline, key=lambda e: e.at)
    evidence = sorted(incident.evidence, key=lambda e: (e.at is not None, e.at or now))
    fixed = {
        "summary": render.summary(incident),
        "sla": render.sla(incident, config, now),
        "roles": render.roles(incident, config),
        "checklist": render.checklist(incident, config),
        "dod": render.definition_of_done(incident.closure),
        "meta": meta_comment(meta_data(incident)),
    }
    # Room left for timeline and evidence rows once everything else (and the
    # "N not shown" notes at their longest) is counted.
    worst = {"evidence": render.evidence([], omitted=10**9),
             "timeline": render.timeline([], omitted=10**9)}
    room = SECTIONS_BUDGET - _size(fixed) - _size(worst)
    keep_t, keep_e = _newest_that_fit(timeline, evidence, room)
    cut_t, cut_e = len(timeline) - keep_t, len(evidence) - keep_e
    out = dict(fixed)
    out["evidence"] = render.evidence(evidence[cut_e:], omitted=cut_e)
    out["timeline"] = render.timeline(timeline[cut_t:], omitted=cut_t)
    return _hard_cap({name: out[name] for name in SECTION_ORDER})


def _newest_that_fit(timeline: list[TimelineEntry], evidence: list[Evidence],
                     room: int) -> tuple[int, int]:
    """How many of the newest timeline entries and evidence items fit in `room`,
    taking the newest of either list first (so the oldest go first)."""
    t_cost = [len(render.timeline_row(e)) + 1 for e in timeline]
    e_cost = [len(render.evidence_row(e)) + 1 for e in evidence]
    if sum(t_cost) + sum(e_cost) <= room:
        return len(timeline), len(evidence)
    i, j = len(timeline) - 1, len(evidence) - 1
    while i >= 0 or j >= 0:
        take_t = j < 0 or (i >= 0 and timeline[i].at >= (evidence[j].at or timeline[i].at))
        cost = t_cost[i] if take_t else e_cost[j]
        if cost > room:
            break
        room -= cost
        if take_t:
            i -= 1
        else:
            j -= 1
    return len(timeline) - 1 - i, len(evidence) - 1 - j


def _hard_cap(result: dict[str, str]) -> dict[str, str]:
    """Last resort for oversized configuration: cut the largest sections at a line."""
    note = "\n\n_… cut here: this section is too long for an issue body._"
    for name in sorted(result, key=lambda n: -len(result[n])):
        over = _size(result) - SECTIONS_BUDGET
        if over <= 0 or name == "meta":
            break
        keep = max(len(result[name]) - over - len(note), 0)
        result[name] = result[name][:keep].rsplit("\n", 1)[0] + note
    return result


def intro(incident: Incident) -> str:
    """Written once when the issue opens (outside the owned sections), so it names nothing
    that changes later: severity and status live in the title, labels and sections."""
    source = render.SOURCE_NAMES.get(incident.source, incident.source).lower()
    return (
        f"**Security incident {plain(incident.id, max_len=64)}**, "
        f"opened by Watchkeeper from a {source}. Responders work the "
        "incident in this issue: tick the checklist as you go. Watchkeeper keeps the sections "
        "between its hidden markers up to date from the incident record; anything written "
        "outside them is kept."
    )


FOOTER = (
    "---\n<sub>Maintained by Watchkeeper from the incident record, following the "
    "incident-response runbook. Secret values are never shown here.</sub>"
)


def render_body(incident: Incident, config: Config, now: datetime) -> str:
    """The whole body for a new issue: marker, intro, every section, footer."""
    parts = [incident_marker(incident.id), intro(incident)]
    parts += [section(name, text) for name, text in render_sections(incident, config, now).items()]
    parts.append(FOOTER)
    return "\n\n".join(parts) + "\n"
