"""GitHub-flavoured markdown to HTML for the demo page: tables, task lists, strikethrough.

Safe by construction: markdown-it runs with HTML disabled, so any tag in the text is shown
escaped; links with unsafe schemes (javascript:, data:, ...) are refused by its validator.
GitHub hides HTML comments and shows a few formatting tags (`<br>`, `<sub>`, ...) that
Watchkeeper's own text uses, so comments are dropped (visible.strip_comments) and exactly
those tags, written without attributes, are put back as fixed strings the page generates.
Links to the simulated GitHub's issues and pull requests point at the page's own views.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import cast

from markdown_it import MarkdownIt
from markdown_it.rules_core import StateCore
from markdown_it.token import Token
from mdit_py_plugins.tasklists import tasklists_plugin

from watchkeeper.demo.visible import strip_comments

SIMPLE_TAGS = ("br", "sub", "sup", "b", "i", "em", "strong", "kbd", "ins", "del", "s")
_TAG = re.compile(rf"<(/?)({'|'.join(SIMPLE_TAGS)})\s*/?>", re.IGNORECASE)

LinkMapper = Callable[[str], str | None]


def _simple_tags(state: StateCore) -> None:
    """Text tokens holding an allowlisted tag become text + a generated html_inline token."""
    for block in state.tokens:
        if block.type != "inline" or not block.children:
            continue
        children: list[Token] = []
        for token in block.children:
            if token.type != "text" or "<" not in token.content:
                children.append(token)
                continue
            last = 0
            for match in _TAG.finditer(token.content):
                if match.start() > last:
                    children.append(_text(token.content[last:match.start()]))
                name = match[2].lower()
                tag = f"<{name}>" if name == "br" else f"<{match[1]}{name}>"
                children.append(Token("html_inline", "", 0, content=tag))
                last = match.end()
            if last < len(token.content):
                children.append(_text(token.content[last:]))
        block.children = children


def _text(content: str) -> Token:
    return Token("text", "", 0, content=content)


def renderer(link_for: LinkMapper | None = None) -> Callable[[str], str]:
    """A ``render(markdown) -> html`` function; ``link_for(href)`` may point links elsewhere."""
    md = MarkdownIt("commonmark", {"html": False}).enable(["table", "strikethrough"])
    md.use(tasklists_plugin)
    md.core.ruler.push("watchkeeper_simple_tags", _simple_tags)

    if link_for is not None:
        def local_links(state: StateCore) -> None:
            for block in state.tokens:
                for token in block.children or ():
                    href = token.attrGet("href") if token.type == "link_open" else None
                    if isinstance(href, str) and (local := link_for(href)) is not None:
                        token.attrSet("href", local)
        md.core.ruler.push("watchkeeper_local_links", local_links)

    def render(text: str) -> str:
        return cast(str, md.render(strip_comments(text)))

    return render
