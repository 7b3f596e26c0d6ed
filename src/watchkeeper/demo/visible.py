"""Markdown as GitHub shows it: HTML comments (Watchkeeper's section markers and checklist
keys) are invisible there, so the terminal and the page leave them out too. Comments inside
fenced code blocks are text and stay."""

from __future__ import annotations

import re

_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_COMMENT = re.compile(r"[ \t]*<!--.*?-->", re.S)
_MARK = "\0"


def _segments(text: str) -> list[tuple[bool, str]]:
    """(is_code, chunk) pieces: fenced code blocks apart from the rest."""
    pieces: list[tuple[bool, str]] = []
    buffer: list[str] = []
    fence: str | None = None
    for line in text.splitlines(keepends=True):
        match = _FENCE.match(line)
        if fence is None and match:
            pieces.append((False, "".join(buffer)))
            buffer, fence = [line], match[1][0] * len(match[1])
        elif fence is not None and match and match[1].startswith(fence):
            buffer.append(line)
            pieces.append((True, "".join(buffer)))
            buffer, fence = [], None
        else:
            buffer.append(line)
    pieces.append((fence is not None, "".join(buffer)))
    return [p for p in pieces if p[1]]


def strip_comments(text: str) -> str:
    """The text without HTML comments outside code; a line that held only comments goes."""
    out: list[str] = []
    for is_code, chunk in _segments(text):
        if is_code:
            out.append(chunk)
            continue
        for line in _COMMENT.sub(_MARK, chunk).splitlines(keepends=True):
            bare = line.replace(_MARK, "")
            if _MARK in line and not bare.strip():
                continue
            out.append(bare)
    return "".join(out)
