"""Reading what people wrote: the lines of markdown that are prose, not code.

Commands and checklist ticks are looked for line by line, but a line inside a fenced code
block (or, for commands, a block quote or an HTML comment) is text *about* them.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

_FENCE = re.compile(r"^[ \t]{0,3}(`{3,}|~{3,})")
_QUOTE = re.compile(r"^ {0,3}>")
_HTML_COMMENT = re.compile(r"<!--.*?(?:-->|\Z)", re.S)


def prose_lines(text: str | None, *, drop_comments: bool = False,
                drop_quotes: bool = False) -> Iterator[str]:
    """The lines of `text` outside fenced code (optionally also outside HTML comments and
    block quotes). A fence closes only with the same character, at least as long."""
    if drop_comments:
        text = _HTML_COMMENT.sub("", text or "")
    fence: str | None = None
    for line in (text or "").splitlines():
        opener = _FENCE.match(line)
        if fence is not None:
            if opener and opener.group(1)[0] == fence[0] and len(opener.group(1)) >= len(fence):
                fence = None
            continue
        if opener:
            fence = opener.group(1)
        elif not (drop_quotes and _QUOTE.match(line)):
            yield line
