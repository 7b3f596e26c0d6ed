"""Untrusted text made inert for GitHub-flavoured markdown.

Payload text (branch, workflow, alert and rule names, commit messages) is written
by whoever can push or name things. Rendered raw it could mention users or teams,
create cross-references in other issues, inject HTML, links, images, tables or
headings. Everything from a payload passes through `neutralise` (or `code`,
`plain`) before it reaches a body, title or comment; links are only built here,
from URLs we check.

GitHub's mention and reference filters run on the rendered text, after markdown
escapes are undone, so a backslash does not stop them: a zero-width joiner
between the trigger character and what follows does, and stays invisible.
"""

from __future__ import annotations

import re
import unicodedata
from urllib.parse import quote, urlsplit

ZWJ = "\u200d"
ELLIPSIS = "…"

# Categories dropped outright: controls, format characters (bidi overrides, zero-width
# characters: we insert our own), unpaired surrogates, private use, unassigned.
_DROP = frozenset({"Cc", "Cf", "Cs", "Co", "Cn"})
_SPACE = frozenset({"Zs", "Zl", "Zp"})

# Always escaped: inline markup (code, emphasis, strikethrough, links, images via '[',
# footnotes, math) and the backslash itself. '<', '>', '&' become entities instead.
_MD_SPECIALS = frozenset("\\`*_[]~|$")
_ENTITIES = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}

# Block-level markup only matters at the start of a line; our output is one line,
# but callers place it after "- " or at a line start.
_LEADING_BLOCK = re.compile(r"^(?:[-+=#]|\d{1,9}(?=[.)]))")
# Triggers GitHub links on sight: @mention/email, #123 and owner/repo#123, GH-123,
# scheme:// and www. autolinks. A joiner after the trigger breaks each of them.
_REFS = (
    (re.compile(r"([@#])"), rf"\1{ZWJ}"),
    (re.compile(r"(?i)(gh)-(?=\d)"), rf"\1{ZWJ}-"),
    (re.compile(r":(?=//)"), f"{ZWJ}:{ZWJ}"),
    (re.compile(r"(?i)(www)\."), rf"\1{ZWJ}."),
)


def clean(text: str) -> str:
    """Drop control/format characters, fold every kind of whitespace to one space."""
    out: list[str] = []
    for ch in str(text):
        cat = unicodedata.category(ch)
        if ch in "\t\n\r\v\f" or cat in _SPACE:
            out.append(" ")
        elif cat not in _DROP:
            out.append(ch)
    return " ".join("".join(out).split())


def _cap(text: str, max_len: int) -> str:
    if max_len < 1:
        raise ValueError("max_len must be at least 1")
    if len(text) <= max_len:
        return text
    return text[: max_len - 1].rstrip() + ELLIPSIS


def _break_refs(text: str) -> str:
    for pattern, repl in _REFS:
        text = pattern.sub(repl, text)
    return text


def neutralise(text: str | None, *, max_len: int = 200) -> str:
    """`text` as inert, single-line markdown: no mentions, references, HTML or markup.

    `max_len` caps the visible characters (an ellipsis marks a cut); escapes added
    afterwards make the raw string longer.
    """
    if not text:
        return ""
    return _escape(_cap(clean(text), max_len), at_line_start=True)


def _escape(text: str, *, at_line_start: bool) -> str:
    escaped = "".join(
        _ENTITIES.get(ch) or ("\\" + ch if ch in _MD_SPECIALS else ch) for ch in text
    )
    block = _LEADING_BLOCK.match(escaped) if at_line_start else None
    if block:
        end = block.end()
        # "1. x" / "1) x" would start an ordered list: escape the punctuation.
        digits = escaped[:1].isdigit()
        escaped = escaped[:end] + "\\" + escaped[end:] if digits else "\\" + escaped
    return _break_refs(escaped)


_CODE_SPAN = re.compile(r"`([^`]+)`")


def inline(text: str | None, *, max_len: int = 300) -> str:
    """Configuration text (checklist items): like `neutralise`, but `code spans` in it
    are kept as code spans."""
    if not text:
        return ""
    capped = _cap(clean(text), max_len)
    out: list[str] = []
    pos = 0
    for m in _CODE_SPAN.finditer(capped):
        out.append(_escape(capped[pos : m.start()], at_line_start=pos == 0))
        out.append(code(m.group(1), max_len=max_len))
        pos = m.end()
    out.append(_escape(capped[pos:], at_line_start=pos == 0))
    return "".join(out)


def plain(text: str | None, *, max_len: int = 200) -> str:
    """`text` for places that show text literally (issue titles, label descriptions).

    No markdown escapes (they would show), but still one line, capped, and with
    mention/reference triggers broken. Those places have hard limits (GitHub refuses a
    title over 256 characters), so `max_len` caps the result, joiners included.
    """
    if not text:
        return ""
    cleaned = clean(text)
    keep = max_len
    out = _break_refs(_cap(cleaned, keep))
    while len(out) > max_len and keep > 1:
        keep = max(1, keep - (len(out) - max_len))
        out = _break_refs(_cap(cleaned, keep))
    return out


def code(text: str | None, *, max_len: int = 200, table: bool = False) -> str:
    """`text` as an inline code span that nothing inside can close early.

    The fence is one backtick longer than the longest run inside. In a table cell
    (`table=True`) pipes are escaped, which GFM undoes inside code spans there.
    """
    body = _cap(clean(text or ""), max_len)
    if not body:
        return ""
    if table:
        body = body.replace("|", "\\|")
    longest = max((len(run) for run in re.findall(r"`+", body)), default=0)
    fence = "`" * (longest + 1)
    if body.startswith("`") or body.endswith("`"):
        body = f" {body} "
    return f"{fence}{body}{fence}"


# Characters kept as they are in a link destination; everything else is
# percent-encoded (parentheses, quotes, spaces, pipes, backslashes, non-ASCII).
_URL_SAFE = "/:?#[]@!$&*+,;=%-._~"


def safe_url(url: str | None) -> str | None:
    """`url` fit for a link destination, or None unless it is an absolute https URL."""
    if not url or len(url) > 2000 or any(unicodedata.category(c)[0] in "CZ" for c in url):
        return None
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme.lower() != "https" or not parts.hostname or parts.username is not None:
        return None
    return quote(url, safe=_URL_SAFE)


def link(text: str | None, url: str | None, *, max_len: int = 200) -> str:
    """A markdown link to an https `url` with neutralised text; plain text otherwise."""
    label = neutralise(text, max_len=max_len)
    target = safe_url(url)
    if target is None:
        return label
    return f"[{label or 'link'}]({target})"


_LOGIN_RE = r"[A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9])){0,38}"
_LOGIN = re.compile(_LOGIN_RE)
_TEAM = re.compile(_LOGIN_RE + r"/[A-Za-z0-9][A-Za-z0-9_.-]{0,99}")


def is_handle(value: str | None) -> bool:
    """A GitHub login or an "org/team" slug (a leading '@' allowed)."""
    name = (value or "").removeprefix("@")
    return bool(_LOGIN.fullmatch(name) or _TEAM.fullmatch(name))


def mention(handle: str | None) -> str:
    """A deliberate @mention of a trusted login or team (from config or a command);
    anything that is not a valid handle is neutralised instead."""
    if handle and is_handle(handle):
        return "@" + handle.removeprefix("@")
    return neutralise(handle)
