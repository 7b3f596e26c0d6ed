"""Checklist ticks: what a person ticked or unticked in an edit of the issue body.

The edit's own "before" (`changes.body.from`) says what changed in *this* edit; the record
says what Watchkeeper already knows. A change counts when both agree it is news, so a
replayed or reordered delivery never records a tick twice. Items are read from the
checklist section only (a pasted task list elsewhere is not the runbook's), by key.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

from watchkeeper.lifecycle.draft import Draft
from watchkeeper.lifecycle.phases import check_checklist
from watchkeeper.render.checklist import iter_items, parse_ticks
from watchkeeper.render.markers import extract
from watchkeeper.runbook.model import Config


@dataclass(frozen=True, slots=True)
class Tick:
    key: str
    ticked: bool
    text: str  # the item's configured text


def checklist_ticks(body: str | None) -> dict[str, bool]:
    """Key -> ticked, from the body's checklist section (the whole body if it has none)."""
    scope = extract(body, "checklist")
    return parse_ticks(scope if scope is not None else body)


def tick_changes(config: Config, done: Collection[str], body: str,
                 body_from: str | None) -> tuple[Tick, ...]:
    """Items whose state changed, in checklist order. Without `body_from` the record's
    `done` stands in for the body before."""
    new = checklist_ticks(body)
    old = checklist_ticks(body_from) if body_from is not None else {}
    known = set(done)
    changes: list[Tick] = []
    for _, item in iter_items(config.checklist):
        if item.key not in new:
            continue  # removed from the body: not an untick
        ticked = new[item.key]
        if ticked == old.get(item.key, item.key in known) or ticked == (item.key in known):
            continue
        changes.append(Tick(item.key, ticked, item.text))
    return tuple(changes)


def apply_ticks(draft: Draft, ticks: tuple[Tick, ...], at: datetime, actor: str) -> None:
    """Record each tick, update `checklist_done`, then reach completed milestones."""
    if not ticks:
        return
    done = list(draft.incident.checklist_done)
    for tick in ticks:
        if tick.ticked:
            done.append(tick.key)
        else:
            done = [key for key in done if key != tick.key]
        verb = "Ticked" if tick.ticked else "Unticked"
        draft.log(at, actor, "checklist", f"{verb}: {tick.text}",
                  data=(("item", tick.key), ("ticked", "true" if tick.ticked else "false")))
    order = [item.key for _, item in iter_items(draft.config.checklist)]
    ranked = sorted(set(done), key=lambda k: (order.index(k) if k in order else len(order), k))
    draft.incident = draft.incident.replace(checklist_done=tuple(ranked))
    check_checklist(draft, at, actor)
