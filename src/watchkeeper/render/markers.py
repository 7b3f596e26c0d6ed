"""Sections the app owns inside a body people also edit.

A section is `<!-- watchkeeper:NAME -->` ... `<!-- /watchkeeper:NAME -->`. Only
its content is ever rewritten; every other byte of the body is kept, so what
people write around the sections survives each update. Bodies are user-editable
and may hold pasted, unbalanced or crossing markers: the rules below pick one
well-formed span per name (or none) and never raise.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

_NAME = re.compile(r"[a-z][a-z0-9_-]{0,39}")
_MARKER = re.compile(r"<!--[ \t]*(/?)watchkeeper:([a-z][a-z0-9_-]{0,39})[ \t]*-->")
_META = re.compile(r"<!--[ \t]*watchkeeper:meta[ \t]+")
_META_MAX = 60_000
_INCIDENT = re.compile(r"<!--[ \t]*watchkeeper:incident[ \t]+([A-Za-z0-9_.-]{1,64})[ \t]*-->")
_ID_CHARS = re.compile(r"[^A-Za-z0-9_.-]")


def _check_name(name: str) -> str:
    if not _NAME.fullmatch(name):
        raise ValueError(f"invalid section name {name!r}")
    return name


def open_marker(name: str) -> str:
    return f"<!-- watchkeeper:{_check_name(name)} -->"


def close_marker(name: str) -> str:
    return f"<!-- /watchkeeper:{_check_name(name)} -->"


def section(name: str, content: str) -> str:
    """`content` between the markers of section `name`.

    Markers sit on their own lines with a blank line to the content: a comment line
    right under a table would otherwise render as an empty table row.
    """
    return f"{open_marker(name)}\n\n{content}\n\n{close_marker(name)}"


def _spans(body: str) -> dict[str, tuple[int, int]]:
    """name -> (content start, content end) of the section chosen for each name.

    A candidate is an opening marker directly followed (among that name's markers) by
    its closing marker. Taking candidates by where they end (innermost first), the
    first of each name that does not overlap an already chosen span wins: spans never
    overlap, and a splice never changes which spans a later splice finds.
    """
    pending: dict[str, re.Match[str]] = {}
    candidates: list[tuple[int, int, int, int, str]] = []
    for m in _MARKER.finditer(body):
        closing, name = m.group(1) == "/", m.group(2)
        if not closing:
            pending[name] = m  # a later opening marker replaces an unclosed one
        elif name in pending:
            start = pending.pop(name)
            candidates.append((start.start(), start.end(), m.start(), m.end(), name))
    spans: dict[str, tuple[int, int]] = {}
    last_end = -1
    for outer_start, content_start, content_end, outer_end, name in sorted(
        candidates, key=lambda c: (c[3], c[0])
    ):
        if name in spans or outer_start < last_end:
            continue
        spans[name] = (content_start, content_end)
        last_end = outer_end
    return spans


def _strip_newlines(content: str) -> str:
    """The content as `section` wrote it: without the line breaks next to the markers."""
    return content.strip("\r\n")


def extract(body: str | None, name: str) -> str | None:
    """The content of section `name` in `body`, or None when there is no such section."""
    span = _spans(body or "").get(name)
    if span is None:
        return None
    return _strip_newlines((body or "")[span[0] : span[1]])


def names(body: str | None) -> tuple[str, ...]:
    """The sections present in `body`, in document order."""
    spans = _spans(body or "")
    return tuple(sorted(spans, key=lambda n: spans[n][0]))


def splice(body: str | None, sections: Mapping[str, str]) -> str:
    """`body` with the given sections' contents replaced; missing ones appended in order.

    Everything outside the replaced contents stays byte-identical.
    """
    text = body or ""
    spans = _spans(text)
    present = [(spans[n], n) for n in sections if n in spans]
    out: list[str] = []
    pos = 0
    for (start, end), name in sorted(present):
        out.append(text[pos:start])
        out.append(f"\n\n{sections[name]}\n\n")
        pos = end
    out.append(text[pos:])
    missing = [section(n, c) for n, c in sections.items() if n not in spans]
    if missing:
        joined = "".join(out)
        sep = "" if not joined else ("\n" if joined.endswith("\n") else "\n\n")
        return joined + sep + "\n\n".join(missing) + "\n"
    return "".join(out)


# --- hidden metadata and the incident marker ---------------------------------------


def meta_comment(data: Mapping[str, Any]) -> str:
    """`data` as JSON inside a hidden comment. '<' and '>' are escaped so nothing in
    the data can end the comment; '@' and '#' so that no mention or reference exists
    even in the raw text."""
    payload = json.dumps(dict(data), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    for char in "<>@#":  # only ever inside JSON strings, where \\uXXXX means the same
        payload = payload.replace(char, f"\\u{ord(char):04x}")
    return f"<!-- watchkeeper:meta {payload} -->"


def read_meta(body: str | None) -> dict[str, Any] | None:
    """The metadata written by `meta_comment`: from the "meta" section when there is
    one, else the first metadata comment in the body. None when absent or unreadable."""
    text = body or ""
    scope = extract(text, "meta")
    if scope is None or _META.search(scope) is None:
        scope = text
    m = _META.search(scope)
    if m is None:
        return None
    end = scope.find("-->", m.end())
    raw = scope[m.end() : end].strip() if end >= 0 else ""
    if not raw.startswith("{") or len(raw) > _META_MAX:
        return None
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError):
        return None
    return data if isinstance(data, dict) else None


def incident_marker(incident_id: str) -> str:
    """The hidden marker that identifies an incident's issue (and survives edits that
    keep the rest of the body)."""
    clean_id = _ID_CHARS.sub("", incident_id)[:64]
    if not clean_id:
        raise ValueError(f"invalid incident id {incident_id!r}")
    return f"<!-- watchkeeper:incident {clean_id} -->"


def read_incident_id(body: str | None) -> str | None:
    """The incident ID from the first incident marker in `body`, if any."""
    m = _INCIDENT.search(body or "")
    return m.group(1) if m else None
