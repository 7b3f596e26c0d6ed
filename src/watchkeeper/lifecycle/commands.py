"""Slash commands in issue comments: `/ack`, `/severity high`, `/status impact="..." ...`.

A command is a line that starts with `/name` (up to three spaces of indent, as markdown
allows for a paragraph). Lines inside fenced code, block quotes and HTML comments are text
*about* commands, not commands, and are skipped. One comment may hold several commands.
Whatever fails to parse comes back as a `BadCommand` carrying the usage to reply with.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from watchkeeper.evidence.commands import COMMANDS as FREEZE_COMMANDS
from watchkeeper.record import SEVERITIES
from watchkeeper.render.escape import is_handle
from watchkeeper.render.prose import prose_lines

MAX_COMMANDS = 10  # per comment; more is a paste accident, not a runbook step
MAX_TEXT = 1000  # stored text per command argument


@dataclass(frozen=True, slots=True)
class Spec:
    usage: str
    summary: str
    kind: str  # "note" | "level" | "handle" | "fields" | "text" | "none"
    fields: tuple[str, ...] = ()


SPECS: dict[str, Spec] = {
    "ack": Spec("/ack [note]", "acknowledge the incident", "note"),
    "contained": Spec("/contained [note]", "mark the incident contained", "note"),
    "fixed": Spec("/fixed [note]", "mark the permanent fix deployed", "note"),
    "severity": Spec("/severity <critical|high|medium|low>",
                     "change the severity (same as the severity label)", "level"),
    "ic": Spec("/ic @user", "set the Incident Commander", "handle"),
    "mitigation": Spec("/mitigation @user", "set the Mitigation Owner", "handle"),
    "comms": Spec("/comms @user", "set the Communications Owner", "handle"),
    "security": Spec("/security @user", "set the Security Owner", "handle"),
    "status": Spec('/status impact="..." mitigation="..." next="..."',
                   "post and record the internal update", "fields",
                   ("impact", "mitigation", "next")),
    "customer-update": Spec('/customer-update scope="..." status="..." next="..."',
                            "draft the customer-facing update for the Communications Owner",
                            "fields", ("scope", "status", "next")),
    "decision": Spec("/decision <text>", "record a decision in the decision log", "text"),
    "rootcause": Spec("/rootcause <text>", "record the root cause for the postmortem", "text"),
    "help": Spec("/help", "list these commands", "none"),
}
# Commands another feature answers (deployment freeze): not "unknown" here, and listed
# by /help, but parsed and run by their own feature.
ELSEWHERE: dict[str, tuple[str, str]] = dict(FREEZE_COMMANDS)
ALIASES = {"acknowledge": "ack", "customer_update": "customer-update",
           "root-cause": "rootcause", "root_cause": "rootcause"}


@dataclass(frozen=True, slots=True)
class Command:
    name: str  # a key of SPECS
    line: str  # the line as written (trimmed): its hash keys exactly-once handling
    arg: str = ""  # note, level, handle (without "@") or text
    params: tuple[tuple[str, str], ...] = ()  # "fields" commands, in SPECS order

    def param(self, key: str) -> str | None:
        return dict(self.params).get(key)


@dataclass(frozen=True, slots=True)
class BadCommand:
    name: str  # as written, lower case
    line: str
    problem: str
    usage: str | None = None  # None: unknown command


Parsed = Command | BadCommand

_COMMAND = re.compile(r"^ {0,3}/([A-Za-z][A-Za-z0-9_-]{0,39})(?=\s|$)(.*)$")
_KEY = re.compile(r"[A-Za-z][A-Za-z_-]{0,39}")
# Opening quote -> the characters that close it (phones and word processors type
# typographic quotes, and not always in matching pairs).
_CLOSERS = {'"': '"', "'": "'", "\u201c": "\u201d\u201c\"", "\u2018": "\u2019'",
            "\u201e": "\u201c\u201d\""}


def command_lines(text: str) -> list[str]:
    """The lines of `text` that are commands: outside code, quotes and HTML comments."""
    return [line.strip() for line in prose_lines(text, drop_comments=True, drop_quotes=True)
            if _COMMAND.match(line)]


def parse_commands(text: str) -> tuple[Parsed, ...]:
    """Every command in a comment, in order (at most MAX_COMMANDS), except those another
    feature answers (ELSEWHERE)."""
    return tuple(
        parse_line(line) for line in command_lines(text)[:MAX_COMMANDS]
        if _name(line) not in ELSEWHERE
    )


def _name(line: str) -> str:
    m = _COMMAND.match(line)
    return m.group(1).lower() if m else ""


def parse_line(line: str) -> Parsed:
    m = _COMMAND.match(line)
    if m is None:
        return BadCommand("", line, "not a command")
    written, rest = m.group(1).lower(), m.group(2).strip()
    name = ALIASES.get(written, written)
    spec = SPECS.get(name)
    if spec is None:
        return BadCommand(written, line, f"unknown command /{written}")
    try:
        return _parse_args(name, spec, line, rest)
    except ValueError as exc:
        return BadCommand(name, line, str(exc), spec.usage)


def _parse_args(name: str, spec: Spec, line: str, rest: str) -> Command:
    if spec.kind == "none":
        return Command(name, line)
    if spec.kind == "note":
        return Command(name, line, arg=rest[:MAX_TEXT])
    if spec.kind == "text":
        if not rest:
            raise ValueError(f"/{name} needs some text")
        return Command(name, line, arg=rest[:MAX_TEXT])
    if spec.kind == "level":
        level = rest.lower().removeprefix("severity:")
        if level not in SEVERITIES:
            raise ValueError(f"unknown severity {rest!r}" if rest else "no severity given")
        return Command(name, line, arg=level)
    if spec.kind == "handle":
        parts = rest.split()
        if len(parts) != 1:
            raise ValueError(f"/{name} takes exactly one @user or @org/team")
        handle = parts[0].removeprefix("@")
        if handle.lower() != "me" and not is_handle(handle):
            raise ValueError(f"{parts[0]!r} is not a GitHub user or team")
        return Command(name, line, arg=handle)
    params = parse_fields(rest, spec.fields)
    missing = [key for key in spec.fields if not params.get(key)]
    if missing:
        raise ValueError("missing " + ", ".join(f"{key}=\"...\"" for key in missing))
    return Command(name, line, params=tuple((key, params[key]) for key in spec.fields))


def parse_fields(text: str, allowed: tuple[str, ...]) -> dict[str, str]:
    """`key="value" other='x y' bare=word` -> dict. Quotes: straight or typographic;
    a backslash escapes the next character inside quotes. Raises ValueError."""
    out: dict[str, str] = {}
    pos, end = 0, len(text)
    while True:
        while pos < end and text[pos].isspace():
            pos += 1
        if pos >= end:
            return out
        m = _KEY.match(text, pos)
        if m is None or m.end() >= end or text[m.end()] != "=":
            raise ValueError(f"expected key=\"value\" at {text[pos:pos + 20]!r}")
        key = m.group(0).lower()
        if key not in allowed:
            raise ValueError(f"unknown field {key!r} (expected {', '.join(allowed)})")
        if key in out:
            raise ValueError(f"{key} is given twice")
        value, pos = _value(text, m.end() + 1)
        out[key] = value.strip()[:MAX_TEXT]


def _value(text: str, pos: int) -> tuple[str, int]:
    if pos < len(text) and text[pos] in _CLOSERS:
        closer, chars = _CLOSERS[text[pos]], []
        pos += 1
        while pos < len(text):
            ch = text[pos]
            if ch == "\\" and pos + 1 < len(text):
                chars.append(text[pos + 1])
                pos += 2
                continue
            if ch in closer:
                return "".join(chars), pos + 1
            chars.append(ch)
            pos += 1
        raise ValueError("a quoted value is not closed")
    start = pos
    while pos < len(text) and not text[pos].isspace():
        pos += 1
    return text[start:pos], pos


def command_key(comment_id: int, line: str) -> str:
    """The exactly-once identity of a command: its comment and its text, so an edit that
    adds a command runs only the new one."""
    digest = hashlib.sha256(line.strip().encode("utf-8")).hexdigest()[:16]
    return f"cmd:{comment_id}:{digest}"
