"""How responders work an incident in its issue: checklist ticks, severity labels, roles
and slash commands, read from `issues` / `issue_comment` payloads and decided purely.

The feature shell (watchkeeper.features.responders) finds the incident, asks GitHub for the
actor's permission when a decision needs it, and applies the Decision.
"""

from watchkeeper.lifecycle.command_events import decide_comment, pending_commands
from watchkeeper.lifecycle.commands import BadCommand, Command, parse_commands
from watchkeeper.lifecycle.common import may_write
from watchkeeper.lifecycle.events import (
    CommentEvent,
    IssueEvent,
    IssueState,
    parse_issue_comment,
    parse_issues,
)
from watchkeeper.lifecycle.issue_events import decide_issue_event, needs_permission

__all__ = [
    "BadCommand",
    "Command",
    "CommentEvent",
    "IssueEvent",
    "IssueState",
    "decide_comment",
    "decide_issue_event",
    "may_write",
    "needs_permission",
    "parse_commands",
    "parse_issue_comment",
    "parse_issues",
    "pending_commands",
]
