"""The short comments Watchkeeper answers responders with.

Logins come from GitHub (the sender) or from a validated command argument; everything
people typed is neutralised (a status line must not page a team or inject markup).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from watchkeeper.lifecycle.commands import ELSEWHERE, SPECS, BadCommand
from watchkeeper.render.escape import code, mention, neutralise
from watchkeeper.render.times import duration, utc

PERMISSION_NOTE = "write, maintain or admin permission on this repository"


def help_text() -> str:
    lines = ["**Watchkeeper commands** (one per line, at the start of a line; people with "
             f"{PERMISSION_NOTE}):", ""]
    lines += [f"- {code(spec.usage)} — {spec.summary}" for spec in SPECS.values()]
    lines += [f"- {code(usage)} — {summary}" for usage, summary in ELSEWHERE.values()]
    lines += ["", "Ticking checklist items and adding a `severity:<level>` label work too."]
    return "\n".join(lines)


def usage_error(bad: BadCommand) -> str:
    if bad.usage is None:
        return (f"Unknown command {code('/' + bad.name, max_len=60)}: nothing was done. "
                "Comment `/help` for the list of commands.")
    return (f"{code(bad.line, max_len=120)}: {neutralise(bad.problem, max_len=160)}. "
            f"Usage: {code(bad.usage)}")


def refusal(actor: str, what: str = "run Watchkeeper commands") -> str:
    return (f"{mention(actor)} only people with {PERMISSION_NOTE} can {what}; "
            "nothing was changed.")


def label_refusal(actor: str, label: str) -> str:
    return (f"{mention(actor)} only people with {PERMISSION_NOTE} can change the severity; "
            f"the label {code(label, max_len=60)} was removed and nothing else changed.")


def label_restored(label: str, actor: str) -> str:
    return (f"The label {code(label, max_len=60)} was restored after "
            f"{neutralise(actor, max_len=60)} removed it: an incident always keeps exactly one "
            "severity. To change it, add a different `severity:<level>` label or comment "
            "`/severity <level>`.")


def already(milestone: str, at: datetime) -> str:
    return f"Already {milestone.lower()} at {utc(at)}; nothing changed."


def role_unchanged(title: str, handle: str) -> str:
    return f"{title} is already {mention(handle)}; nothing changed."


def severity_changed(old: str, new: str, actor: str, via: str, detected_at: datetime,
                     due: Sequence[tuple[str, datetime | None]],
                     past: Sequence[tuple[str, datetime]], now: datetime,
                     update_line: str) -> str:
    """The severity change, the recomputed deadlines (those already past called out), and
    the runbook's internal update line."""
    lines = [f"**Severity changed** from **{neutralise(old, max_len=20)}** to "
             f"**{neutralise(new, max_len=20)}** by {neutralise(actor, max_len=60)} "
             f"({via}). SLA deadlines are recomputed from detection at {utc(detected_at)}: "
             + ", ".join(f"{step} by {utc(when) if when else 'the next release'}"
                         for step, when in due) + "."]
    if past:
        lines += ["", "**Already past under the new severity:** " + "; ".join(
            f"{step} was due {utc(when)} ({duration(now - when)} ago)" for step, when in past)
            + "."]
    lines += ["", update_line]
    return "\n".join(lines)


def customer_draft(comms: str | None, draft: str) -> str:
    who = (f"{mention(comms)} please review and send" if comms else
           "No Communications Owner is assigned (`/comms @user`); review and send")
    return f"**Customer update draft** — {who}:\n\n> {draft}"


def combine(parts: Sequence[str]) -> str:
    return "\n\n---\n\n".join(parts)
