"""Plain terminal narration: each step as "time, who, what", then what Watchkeeper did,
read from its effects. No colours or cursor tricks: output that reads the same in a log."""

from __future__ import annotations

import re
import textwrap
from datetime import datetime
from typing import TextIO

from watchkeeper.demo.observe import Changes, IssueChange
from watchkeeper.demo.visible import strip_comments

WIDTH = 100
INDENT = " " * 13
_LINK = re.compile(r"\[([^\]]*)\]\((?:[^()\s]+)\)")


def plain(text: str) -> str:
    """One line of markdown as plain text: links to their words, no emphasis marks."""
    text = _LINK.sub(r"\1", text.replace("**", "").replace("\\", ""))
    return re.sub(r"\s+", " ", text).strip()


def first_line(text: str, limit: int = 150) -> str:
    line = next((plain(x) for x in strip_comments(text).splitlines() if x.strip()), "")
    return line if len(line) <= limit else line[: limit - 1].rstrip() + "…"


class Narrator:
    def __init__(self, out: TextIO) -> None:
        self.out = out

    def say(self, text: str = "") -> None:
        self.out.write(text + "\n")
        self.out.flush()

    def para(self, text: str, indent: str = "") -> None:
        self.say(textwrap.fill(text, WIDTH, initial_indent=indent, subsequent_indent=indent))

    def rule(self, title: str) -> None:
        self.say()
        self.say(f"=== {title} " + "=" * max(3, WIDTH - len(title) - 5))

    def step(self, when: datetime, headline: str, doing: str | None = None) -> None:
        self.say()
        self.say(f"{when:%a %H:%M}  {headline}")
        if doing:
            self._lines("", doing)

    def _lines(self, label: str, text: str) -> None:
        wrapped = textwrap.wrap(text, WIDTH - len(INDENT)) or [""]
        self.say(f"  {label:<10} {wrapped[0]}".rstrip())
        for rest in wrapped[1:]:
            self.say(INDENT + rest)

    def changes(self, c: Changes) -> None:
        own = [s for s in c.delivered if s.sender and s.sender.endswith("[bot]")]
        others = [s for s in c.delivered if s not in own]
        if others:
            shown = ", ".join(
                f"{s.event}" + (f".{s.action}" if s.action else "") + f" {s.status or 'failed'}"
                for s in others)
            echo = f"; {len(own)} echoing the app's own changes (skipped)" if own else ""
            self._lines("webhooks", f"{shown}{echo}")
        elif own:
            self._lines("webhooks", f"{len(own)} echoing the app's own changes (skipped)")
        for sent in c.delivered:
            if sent.status not in (200, 202):
                self._lines("PROBLEM", f"{sent.event} delivery answered {sent.status}: "
                                       f"{sent.answer}")
        for change in c.issues:
            self._issue(change)
        for check in c.checks:
            self._lines("check run", check)
        for entry in c.timeline:
            self._lines("timeline", f"{entry.at:%H:%M} {plain(entry.text)}")
        if c.calls:
            self._lines("GitHub API", f"{c.calls} request(s) by the app, {c.writes} of them "
                                      "changes")
        if c.new_dead:
            self._lines("PROBLEM", f"{c.new_dead} delivery(ies) dead-lettered (see the log)")

    def _issue(self, change: IssueChange) -> None:
        v = change.view
        name = f"{'PR' if v.is_pull else 'issue'} #{v.number}"
        if change.opened:
            self._lines(name, f'opened by Watchkeeper: "{v.title}"')
            if v.labels:
                self._lines("", "labels: " + ", ".join(v.labels))
        else:
            if change.title_from is not None:
                self._lines(name, f'title now "{v.title}"')
            labels = [f"+{n}" for n in change.added] + [f"-{n}" for n in change.removed]
            if labels:
                self._lines(name, "labels " + " ".join(labels))
            if change.state_from is not None:
                self._lines(name, f"{change.state_from} -> {v.state}")
        for body in change.comments:
            self._lines(name, f"comment: {first_line(body)}")
