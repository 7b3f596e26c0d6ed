"""The response checklist section: phases of items, items with optional sub-items.

Keys are stable identifiers unique across the whole checklist, because incident
records remember ticked items by key.
"""

from __future__ import annotations

import re

from watchkeeper.runbook.checker import Checker, show
from watchkeeper.runbook.model import ChecklistItem, ChecklistPhase
from watchkeeper.runbook.yamldoc import Path

MILESTONES = ("acknowledged", "contained", "fixed")
_KEY = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
_MAX_TEXT = 300


def _text(value: object, path: Path, chk: Checker) -> str | None:
    if not isinstance(value, str) or not value.strip() or len(value) > _MAX_TEXT or "\n" in (
            value.strip()):
        chk.report(path, f"expected one line of text (at most {_MAX_TEXT}), got {show(value)}")
        return None
    return value.strip()


def _key(value: object, path: Path, seen: set[str], chk: Checker) -> str | None:
    if not isinstance(value, str) or not _KEY.match(value):
        chk.report(path, f"invalid key {show(value)}",
                   "use lowercase letters, digits, '_' and '-' (at most 64)")
        return None
    if value in seen:
        chk.report(path, f"duplicate key {value!r}", "keys must be unique in the checklist")
        return None
    seen.add(value)
    return value


def _build_items(data: object, path: Path, parent: str | None, seen: set[str], chk: Checker
                 ) -> list[ChecklistItem]:
    if not isinstance(data, list) or not data:
        chk.report(path, f"expected a non-empty list of items, got {show(data)}")
        return []
    items: list[ChecklistItem] = []
    allowed = ("key", "text", "milestone") + (() if parent else ("items",))
    for index, raw in enumerate(data):
        item_path = (*path, index)
        spec = chk.mapping(raw, item_path, allowed)
        if spec is None:
            continue
        key = _key(spec.get("key"), (*item_path, "key"), seen, chk)
        text = _text(spec.get("text"), (*item_path, "text"), chk)
        milestone = spec.get("milestone")
        if milestone is not None:
            milestone = chk.choice(milestone, (*item_path, "milestone"), MILESTONES)
        if key and text:
            items.append(ChecklistItem(key, text, milestone, parent))
        if key and "items" in spec:
            items.extend(_build_items(spec["items"], (*item_path, "items"), key, seen, chk))
    return items


def build_checklist(data: object, chk: Checker) -> tuple[ChecklistPhase, ...] | None:
    path: Path = ("checklist",)
    if not isinstance(data, list) or not data:
        chk.report(path, f"expected a non-empty list of phases, got {show(data)}")
        return None
    before = len(chk.problems)
    seen: set[str] = set()
    phases: list[ChecklistPhase] = []
    for index, raw in enumerate(data):
        spec = chk.mapping(raw, (*path, index), ("key", "title", "items"))
        if spec is None:
            continue
        key = _key(spec.get("key"), (*path, index, "key"), seen, chk)
        title = _text(spec.get("title"), (*path, index, "title"), chk)
        items = _build_items(spec.get("items"), (*path, index, "items"), None, seen, chk)
        if key and title:
            phases.append(ChecklistPhase(key, title, tuple(items)))
    return tuple(phases) if len(chk.problems) == before else None
