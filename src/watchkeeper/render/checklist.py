"""The runbook checklist as a GitHub task list, and reading back what people ticked.

Each item line ends with a hidden key marker (`<!-- wk:KEY -->`) after its text:
GitHub's task-list UI still toggles the box, and the key survives people
rewording the item, so ticks are read by key rather than by text or position.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterator, Sequence

from watchkeeper.render.escape import inline, neutralise
from watchkeeper.render.prose import prose_lines
from watchkeeper.runbook.model import ChecklistItem, ChecklistPhase

_KEY_CHARS = re.compile(r"[^a-z0-9_-]")
_ITEM = re.compile(
    r"^[ \t]*(?:[-*+]|\d{1,9}[.)])[ \t]+\[([ xX])\][ \t].*?<!--[ \t]*wk:([a-z0-9_-]{1,64})[ \t]*-->"
)


def item_marker(key: str) -> str:
    clean = _KEY_CHARS.sub("", key.lower())[:64]
    if not clean:
        raise ValueError(f"invalid checklist key {key!r}")
    return f"<!-- wk:{clean} -->"


def iter_items(phases: Sequence[ChecklistPhase]) -> Iterator[tuple[ChecklistPhase, ChecklistItem]]:
    """Every item with its phase, in checklist order (sub-items follow their parent)."""
    for phase in phases:
        for item in phase.items:
            yield phase, item


def render_checklist(phases: Sequence[ChecklistPhase], done: Collection[str] = ()) -> str:
    """A heading per phase and a task list under it; ticked items are those in `done`."""
    ticked = set(done)
    blocks: list[str] = []
    for phase in phases:
        lines = [f"### {neutralise(phase.title, max_len=120)}", ""]
        top_level = {item.key for item in phase.items if item.parent is None}
        for item in phase.items:
            indent = "  " if item.parent is not None and item.parent in top_level else ""
            box = "x" if item.key in ticked else " "
            text = inline(item.text, max_len=300) or neutralise(item.key)
            lines.append(f"{indent}- [{box}] {text} {item_marker(item.key)}")
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)


def parse_ticks(markdown: str | None) -> dict[str, bool]:
    """Checklist key -> ticked, for every keyed task item in `markdown`.

    Tolerates edited text around items, CRLF line endings, other list markers and
    extra items; ignores fenced code blocks. The first item with a key wins.
    """
    result: dict[str, bool] = {}
    for line in prose_lines(markdown):
        m = _ITEM.match(line)
        if m and m.group(2) not in result:
            result[m.group(2)] = m.group(1) != " "
    return result
