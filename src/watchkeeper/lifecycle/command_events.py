"""Decisions for slash commands in comments on an incident issue.

Each command runs once: its key (comment ID + hash of the command line) joins the record's
done keys, so a replayed delivery or an edit of the same comment runs nothing again, while
an edit that adds a command runs just that one. Answers to one comment go out as one reply.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from watchkeeper.incident import Decision
from watchkeeper.lifecycle import replies, roles, severity
from watchkeeper.lifecycle.commands import BadCommand, Command, Parsed, command_key, parse_commands
from watchkeeper.lifecycle.common import event_time
from watchkeeper.lifecycle.draft import Draft
from watchkeeper.lifecycle.events import CommentEvent
from watchkeeper.lifecycle.phases import TITLES, reach
from watchkeeper.record import Incident
from watchkeeper.render.comments import customer_update, internal_update_line
from watchkeeper.render.sections import ROLE_TITLES
from watchkeeper.runbook.model import Config


@dataclass(frozen=True, slots=True)
class Ctx:
    draft: Draft
    command: Command
    event: CommentEvent
    at: datetime
    key: str


Run = Callable[[Ctx], str | None]  # returns the reply text for this command, if any


def pending_commands(incident: Incident, event: CommentEvent) -> tuple[tuple[str, Parsed], ...]:
    """(key, command) for each command in the comment not handled before."""
    seen: set[str] = set()
    out: list[tuple[str, Parsed]] = []
    for parsed in parse_commands(event.body):
        key = command_key(event.comment_id, parsed.line)
        if key not in seen and not incident.done(key):
            seen.add(key)
            out.append((key, parsed))
    return tuple(out)


def decide_comment(incident: Incident, event: CommentEvent, config: Config, now: datetime,
                   *, allowed: bool = False) -> Decision:
    """`allowed`: the commenter has write, maintain or admin permission (ask GitHub only
    when `pending_commands` is not empty)."""
    pending = pending_commands(incident, event)
    if not pending:
        return Decision(incident, ())
    draft = Draft.start(incident, config, now)
    keys = [key for key, _ in pending]
    reply_key = "reply:" + hashlib.sha256("\n".join(keys).encode()).hexdigest()[:16]
    draft.done(*keys)
    if not allowed:
        draft.reply(replies.refusal(event.actor), reply_key)
        return draft.decision()
    at = event_time(event.at, now, incident.detected_at)
    parts: list[str] = []
    for key, parsed in pending:
        if isinstance(parsed, BadCommand):
            parts.append(replies.usage_error(parsed))
            continue
        text = RUN[parsed.name](Ctx(draft, parsed, event, at, key))
        if text:
            parts.append(text)
    if parts:
        draft.reply(replies.combine(parts), reply_key)
    return draft.decision()


def _milestone(name: str) -> Run:
    def run(ctx: Ctx) -> str | None:
        how = f"/{ctx.command.name}" + (f": {ctx.command.arg}" if ctx.command.arg else "")
        if reach(ctx.draft, name, ctx.at, ctx.event.actor, how, key=ctx.key,
                 url=ctx.event.url):
            return None
        reached = ctx.draft.incident.milestone(name)
        assert reached is not None
        return replies.already(TITLES[name], reached)
    return run


def _severity(ctx: Ctx) -> str | None:
    level = ctx.command.arg
    text = severity.change(ctx.draft, level, ctx.event.actor, ctx.at, "/severity",
                           ctx.event.issue.labels, key=ctx.key, url=ctx.event.url)
    return text or f"Severity is already **{level}**; nothing changed."


def _role(role: str) -> Run:
    def run(ctx: Ctx) -> str | None:
        arg = ctx.command.arg
        handle = ctx.event.actor if arg.lower() == "me" else arg
        if roles.assign(ctx.draft, role, handle, ctx.event.actor, ctx.at,
                        f"/{ctx.command.name}", ctx.event.issue.assignees, key=ctx.key,
                        url=ctx.event.url):
            return None
        return replies.role_unchanged(ROLE_TITLES.get(role, role), handle)
    return run


def _status(ctx: Ctx) -> str:
    impact, mitigation, nxt = (ctx.command.param(k) or "" for k in ("impact", "mitigation",
                                                                     "next"))
    inc = ctx.draft.incident
    line = internal_update_line(inc.id, inc.severity, impact, mitigation, nxt)
    ctx.draft.notify("status_update", line, key=f"status_update:{ctx.key}")
    ctx.draft.log(ctx.at, ctx.event.actor, "status_update",
                  f"Status update: impact: {impact}; mitigation: {mitigation}; "
                  f"next update: {nxt}", key=ctx.key, url=ctx.event.url,
                  data=(("impact", impact), ("mitigation", mitigation), ("next", nxt)))
    return "**Internal update**\n\n" + line


def _customer_update(ctx: Ctx) -> str:
    scope, status, nxt = (ctx.command.param(k) or "" for k in ("scope", "status", "next"))
    ctx.draft.log(ctx.at, ctx.event.actor, "customer_update",
                  f"Customer update drafted: scope: {scope}; status: {status}; "
                  f"next update: {nxt}", key=ctx.key, url=ctx.event.url,
                  data=(("scope", scope), ("status", status), ("next", nxt)))
    comms = roles.holder(ctx.draft.incident, ctx.draft.config, "communications_owner")
    return replies.customer_draft(comms, customer_update(scope, status, nxt))


def _record(kind: str, label: str) -> Run:
    def run(ctx: Ctx) -> None:
        ctx.draft.log(ctx.at, ctx.event.actor, kind, f"{label}: {ctx.command.arg}",
                      key=ctx.key, url=ctx.event.url, data=(("text", ctx.command.arg),))
    return run


def _help(ctx: Ctx) -> str:
    return replies.help_text()


RUN: dict[str, Run] = {
    "ack": _milestone("acknowledged"),
    "contained": _milestone("contained"),
    "fixed": _milestone("fixed"),
    "severity": _severity,
    **{name: _role(role) for name, role in roles.COMMAND_ROLES.items()},
    "status": _status,
    "customer-update": _customer_update,
    "decision": _record("decision", "Decision"),
    "rootcause": _record("rootcause", "Root cause"),
    "help": _help,
}
