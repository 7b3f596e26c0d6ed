"""``watchkeeper simulate EVENT PAYLOAD.json``: what Watchkeeper would do, without GitHub.

For trying a config against a real payload (copy one from the app's *Advanced* tab on GitHub,
"Recent Deliveries"). The work happens in watchkeeper.simulation; this module reads the
inputs and prints the report as text or JSON.

Exit status: 0 when the delivery was processed (whether or not it opened anything), 1 when
processing failed, 2 when the inputs cannot be read.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from watchkeeper.simulation import SimulatedIssue, Simulation

CONFIG_PATH = ".github/watchkeeper.yml"
_EVENT = re.compile(r"[a-z][a-z0-9_]{0,63}")
_INDENT = "    "


class InputError(Exception):
    """An input cannot be used; the message is one line."""


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("event", metavar="EVENT",
                        help="the X-GitHub-Event name, e.g. workflow_run or dependabot_alert")
    parser.add_argument("payload", metavar="PAYLOAD.json",
                        help="the delivery's JSON body (- reads stdin)")
    parser.add_argument("--config", metavar="FILE",
                        help=f"use FILE as the repository's {CONFIG_PATH} (default: none, "
                        "the built-in runbook)")
    parser.add_argument("--repo-file", metavar="PATH=FILE", action="append", default=[],
                        help="put FILE at PATH in the repository's default branch (repeatable)")
    parser.add_argument("--now", metavar="TIME",
                        help="process as if at this ISO 8601 time (default: now)")
    parser.add_argument("--format", choices=("text", "json"), default="text",
                        help="output format (default: text)")


def run(args: argparse.Namespace) -> int:
    try:
        payload = _read_payload(args.payload)
        files = _repo_files(args.config, args.repo_file)
        now = _parse_now(args.now)
        if not _EVENT.fullmatch(args.event):
            raise InputError(f"not an event name: {args.event!r} (e.g. workflow_run)")
    except InputError as exc:
        print(f"watchkeeper simulate: {exc}", file=sys.stderr)
        return 2

    import asyncio

    from watchkeeper.simulation import SimulationInputError, simulate

    try:
        result = asyncio.run(simulate(args.event, payload, files=files, now=now))
    except SimulationInputError as exc:
        print(f"watchkeeper simulate: {exc}", file=sys.stderr)
        return 2
    if args.format == "json":
        print(json.dumps(result.to_json(), indent=2, ensure_ascii=False))
    else:
        sys.stdout.write(render_text(result))
    return 1 if result.error else 0


def _read_payload(name: str) -> dict[str, Any]:
    try:
        text = sys.stdin.read() if name == "-" else Path(name).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{name}: cannot read ({type(exc).__name__})") from None
    try:
        payload = json.loads(text)
    except ValueError as exc:
        raise InputError(f"{name}: not JSON ({exc})") from None
    if not isinstance(payload, dict):
        raise InputError(f"{name}: a webhook payload is a JSON object")
    return payload


def _repo_files(config: str | None, pairs: list[str]) -> dict[str, str]:
    specs = [(CONFIG_PATH, config)] if config else []
    for pair in pairs:
        path, sep, file = pair.partition("=")
        path = path.strip().lstrip("/")
        if not sep or not path or not file or ".." in path.split("/"):
            raise InputError(f"--repo-file {pair!r}: expected PATH=FILE, "
                             "e.g. .github/watchkeeper.yml=watchkeeper.yml")
        specs.append((path, file))
    files: dict[str, str] = {}
    for path, file in specs:
        try:
            files[path] = Path(file).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise InputError(f"{file}: cannot read ({type(exc).__name__})") from None
    return files


def _parse_now(text: str | None) -> datetime | None:
    if text is None:
        return None
    try:
        when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise InputError(f"--now {text!r}: expected an ISO 8601 time such as "
                         "2026-11-27T09:00:00Z") from None
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)


# --- the report -----------------------------------------------------------------------


def render_text(sim: Simulation) -> str:
    out: list[str] = []
    what = f"{sim.event} ({sim.action})" if sim.action else sim.event
    out.append(f"Dry run of {what} for {sim.repo} at {sim.now:%Y-%m-%d %H:%M} UTC.")
    out.append("Nothing was sent to GitHub: a simulated GitHub answered every request.")
    if sim.installation_added:
        out.append("Note: the payload has no installation (GitHub always sends one to an App); "
                   "simulated as installation 1.")
    out.append("")
    out.extend(_config_lines(sim))
    out.append("")
    out.extend(_signal_lines(sim))
    out.append("")
    out.extend(_call_lines(sim))
    for issue in sim.issues:
        out.append("")
        out.extend(_issue_lines(issue))
    if sim.files:
        out.append("")
        out.append("Files written:")
        for f in sim.files:
            state = "deleted" if f.text is None else f"{len(f.text.splitlines())} lines"
            out.append(f"  {f.repo} @ {f.branch}: {f.path} ({state})")
        for f in sim.files:
            if f.text is not None:
                out.append("")
                out.append(f"--- {f.path} ({f.repo} @ {f.branch})")
                out.extend(_indented(f.text))
    if sim.error:
        out.append("")
        out.append(f"Processing failed: {sim.error}")
        out.append("(the server would retry the delivery, then keep it as a dead letter)")
    return "\n".join(out) + "\n"


def _config_lines(sim: Simulation) -> list[str]:
    if CONFIG_PATH in sim.config_files:
        lines = [f"Configuration: {CONFIG_PATH} as given, over the built-in runbook."]
    else:
        lines = ["Configuration: the built-in runbook (no repository config given)."]
    if sim.config_problems:
        lines.append(f"  {len(sim.config_problems)} problem(s); the affected sections fall back:")
        lines.extend(f"  - {problem}" for problem in sim.config_problems)
    return lines


def _signal_lines(sim: Simulation) -> list[str]:
    if not sim.signals:
        return ["Signals: none (no security signal in this delivery; features may still act)."]
    lines = ["Signals:"]
    for s in sim.signals:
        if s.kind != "detection":
            verdict = f"{s.kind}: news for an open incident, if there is one"
        elif s.rule is None:
            verdict = "no rule opens an incident for it"
        else:
            verdict = f"rule {s.rule}, severity {s.severity}"
        lines.append(f"  - {s.source}: {s.title} -> {verdict}")
    return lines


def _call_lines(sim: Simulation) -> list[str]:
    writes, reads = sim.writes, len(sim.calls) - len(sim.writes)
    if not writes:
        return [f"GitHub: no change would be made ({reads} read request(s))."]
    lines = [f"GitHub requests that change something ({len(writes)}; plus {reads} read(s)):"]
    for call in writes:
        lines.append(f"  {call.method} {call.path}{_call_summary(call.body)}")
    return lines


def _call_summary(body: Any) -> str:
    if not isinstance(body, dict):
        return ""
    parts = []
    for key in ("name", "title", "labels", "state", "assignees", "ref", "path", "message"):
        if key in body:
            value = body[key]
            shown = ", ".join(map(str, value)) if isinstance(value, list) else str(value)
            parts.append(f"{key}: {shown}")
    if "body" in body and isinstance(body["body"], str):
        parts.append(f"body: {len(body['body'])} characters")
    return f"  ({'; '.join(parts)})" if parts else ""


def _issue_lines(issue: SimulatedIssue) -> list[str]:
    noun = "Pull request" if issue.kind == "pull_request" else "Issue"
    lines = [f"{noun} #{issue.number} in {issue.repo} ({issue.state})"]
    lines.append(f"  Title:     {issue.title}")
    if issue.head:
        lines.append(f"  Branch:    {issue.head} -> {issue.base}")
    lines.append(f"  Labels:    {', '.join(issue.labels) or '(none)'}")
    lines.append(f"  Assignees: {', '.join(issue.assignees) or '(none)'}")
    lines.append("  Body:")
    lines.extend(_indented(issue.body))
    for number, comment in enumerate(issue.comments, 1):
        lines.append(f"  Comment {number} by {comment.author}:")
        lines.extend(_indented(comment.body))
    return lines


def _indented(text: str) -> list[str]:
    return [(_INDENT + line).rstrip() for line in text.splitlines()] or [_INDENT + "(empty)"]
