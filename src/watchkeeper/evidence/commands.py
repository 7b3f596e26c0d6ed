"""`/freeze [note]` and `/unfreeze [note]` in an incident issue's comments.

A command is a line starting with the command (up to three spaces of indent); lines in
fenced code, block quotes and HTML comments are text about commands, not commands.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from watchkeeper.render.prose import prose_lines

# The commands handled here, with usage and summary (for a command list such as /help;
# other command parsers should leave these names alone).
COMMANDS: dict[str, tuple[str, str]] = {
    "freeze": ("/freeze [note]", "freeze deployments: a failing watchkeeper/freeze check on "
                                 "open pull requests, except the fix"),
    "unfreeze": ("/unfreeze [note]", "lift the deployment freeze"),
}
_COMMAND = re.compile(r"^ {0,3}/(freeze|unfreeze)(?=\s|$)(.*)$", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class FreezeCommand:
    name: Literal["freeze", "unfreeze"]
    note: str = ""


def parse_command(body: str | None) -> FreezeCommand | None:
    """The first `/freeze [note]` or `/unfreeze [note]` line outside code, quotes and HTML
    comments; None when the comment has neither."""
    for line in prose_lines(body, drop_comments=True, drop_quotes=True):
        m = _COMMAND.match(line)
        if m is not None:
            name: Literal["freeze", "unfreeze"] = "freeze" if m.group(1).lower() == "freeze" \
                else "unfreeze"
            return FreezeCommand(name, m.group(2).strip()[:300])
    return None
