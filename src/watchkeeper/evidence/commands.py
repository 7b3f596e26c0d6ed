"""`/freeze [note]` and `/unfreeze [note]` in an incident issue's comments.

A command is a line starting with the command (up to three spaces of indent); lines in
fenced code, block quotes and HTML comments are text about commands, not commands.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

# The commands handled here, with usage and summary (for a command list such as /help;
# other command parsers should leave these names alone).
COMMANDS: dict[str, tuple[str, str]] = {
    "freeze": ("/freeze [note]", "freeze deployments: a failing watchkeeper/freeze check on "
                                 "open pull requests, except the fix"),
    "unfreeze": ("/unfreeze [note]", "lift the deployment freeze"),
}
_COMMAND = re.compile(r"^ {0,3}/(freeze|unfreeze)(?=\s|$)(.*)$", re.IGNORECASE)
_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_HTML_COMMENT = re.compile(r"<!--.*?(?:-->|\Z)", re.S)


@dataclass(frozen=True, slots=True)
class FreezeCommand:
    name: Literal["freeze", "unfreeze"]
    note: str = ""


def parse_command(body: str | None) -> FreezeCommand | None:
    """The first `/freeze [note]` or `/unfreeze [note]` line outside code, quotes and HTML
    comments; None when the comment has neither."""
    fence: str | None = None
    for line in _HTML_COMMENT.sub("", body or "").splitlines():
        opener = _FENCE.match(line)
        if fence is not None:
            if opener and opener.group(1)[0] == fence[0] and len(opener.group(1)) >= len(fence):
                fence = None
            continue
        if opener:
            fence = opener.group(1)
            continue
        m = _COMMAND.match(line)
        if m is not None and not line.lstrip().startswith(">"):
            name: Literal["freeze", "unfreeze"] = "freeze" if m.group(1).lower() == "freeze" \
                else "unfreeze"
            return FreezeCommand(name, m.group(2).strip()[:300])
    return None
