"""Preventive actions: proposed from the runbook's recovery and preventive controls, kept as
a table in the postmortem, and read back from the merged file.

Each proposed row carries a hidden key (`<!-- wk-pa:KEY -->`), so a re-rendered table keeps
the Owner and Due Date people filled in, and rows people added survive. When the postmortem
is merged, every row with an owner and a due date becomes a follow-up issue.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from watchkeeper.record import Incident
from watchkeeper.render.escape import is_handle, neutralise
from watchkeeper.render.times import duration

# The runbook's "Recovery and Preventive Controls", word for word.
CONTROL_TESTS = "Add/adjust tests for failed boundary (tenant isolation, auth, validation)."
CONTROL_RULE = "Add security rule/check if missing (lint, CodeQL pattern, dependency policy)."
CONTROL_ALERT = "Tighten alert threshold if detection lagged."
CONTROL_TRACK = "Track all preventive tasks to completion in weekly security review."
# Detection later than this after the offending commit counts as lagging.
LAG_THRESHOLD = timedelta(hours=1)
HEADER = ("#", "Preventive action", "Runbook control", "Owner", "Due Date")

_KEY_MARK = re.compile(r"<!--\s*wk-pa:([a-z0-9-]{1,40})\s*-->")
_COMMENT = re.compile(r"<!--.*?-->", re.S)
_CELL_SPLIT = re.compile(r"(?<!\\)\|")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_SLUG = re.compile(r"[^a-z0-9]+")


@dataclass(frozen=True, slots=True)
class Proposal:
    key: str
    action: str  # raw text
    control: str


@dataclass(frozen=True, slots=True)
class Row:
    """A row of a Preventive Actions table as written in the file."""

    key: str | None  # None: a row people added
    action: str  # the cell, markup stripped
    owner: str  # the cell as written
    due: str
    line: str  # the whole line, to keep rows people added verbatim


@dataclass(frozen=True, slots=True)
class Action:
    """A row fit to become a follow-up issue."""

    key: str
    title: str
    owner: str  # login or org/team, without "@"
    due: date


def _kind(incident: Incident) -> str:
    rule = incident.rule.lower()
    if incident.source == "secret_scanning_alert" or "secret" in rule:
        return "secret"
    if incident.source == "dependabot_alert":
        return "dependency"
    if incident.source in ("code_scanning_alert", "check_run") or "codeql" in rule:
        return "code"
    return "other"


def proposals(incident: Incident, lag: timedelta | None) -> tuple[Proposal, ...]:
    """The runbook's controls that fit the incident's source (and its detection lag)."""
    fact = dict(incident.facts)
    kind = _kind(incident)
    if kind == "secret":
        secret = fact.get("secret_type")
        found = [
            Proposal("test-boundary", "Add a test or check that keeps credentials out of the "
                     "repository: configuration and fixtures read secrets from the secret "
                     "store", CONTROL_TESTS),
            Proposal("security-rule", "Block this secret type before it lands: push "
                     "protection or a pre-commit secret scan"
                     + (f" for {secret}" if secret else ""), CONTROL_RULE),
        ]
    elif kind == "dependency":
        package = fact.get("package") or "the affected package"
        found = [
            Proposal("test-boundary", f"Add a test that drives the code path using {package} "
                     "with hostile input (the validation boundary)", CONTROL_TESTS),
            Proposal("security-rule", "Add a dependency policy (dependency review or update "
                     f"rules) that blocks vulnerable versions of {package} before merge",
                     CONTROL_RULE),
        ]
    else:
        rule_id = fact.get("rule_id")
        where = f" (rule {rule_id})" if rule_id else ""
        found = [
            Proposal("test-boundary", "Add a regression test for the boundary the failure "
                     f"crossed{where}: tenant isolation, auth or validation", CONTROL_TESTS),
            Proposal("security-rule", "Make the pattern fail CI on every pull request: a "
                     f"CodeQL query or lint rule{where}", CONTROL_RULE),
        ]
    if lag is not None and lag > LAG_THRESHOLD:
        found.append(Proposal(
            "tighten-alerting", f"Tighten alerting: detection came {duration(lag)} after the "
            "offending commit; run the check on every push and pull request, or on a "
            "shorter schedule", CONTROL_ALERT))
    return tuple(found)


# --- the table --------------------------------------------------------------------------


def split_cells(line: str) -> list[str]:
    inner = line.strip()
    inner = inner[1:] if inner.startswith("|") else inner
    inner = inner[:-1] if inner.endswith("|") and not inner.endswith("\\|") else inner
    return [cell.strip() for cell in _CELL_SPLIT.split(inner)]


def _column(header: Sequence[str], *words: str) -> int | None:
    lowered = [cell.lower() for cell in header]
    return next((i for i, cell in enumerate(lowered) if any(w in cell for w in words)), None)


def parse_rows(markdown: str) -> list[Row]:
    """The rows of the first table whose header has an Owner and a Due column."""
    lines = markdown.splitlines()
    for start, line in enumerate(lines):
        if not line.lstrip().startswith("|") or start + 1 >= len(lines):
            continue
        header = split_cells(line)
        owner_col, due_col = _column(header, "owner"), _column(header, "due")
        action_col = _column(header, "action", "preventive")
        if owner_col is None or due_col is None or action_col is None:
            continue
        if not set(lines[start + 1].replace("|", "").strip()) <= set("-: "):
            continue
        rows = []
        for body in lines[start + 2:]:
            if not body.lstrip().startswith("|"):
                break
            cells = split_cells(body)
            cells += [""] * (len(header) - len(cells))
            mark = _KEY_MARK.search(cells[action_col])
            rows.append(Row(mark.group(1) if mark else None, clean_cell(cells[action_col]),
                            cells[owner_col], cells[due_col], body))
        return rows
    return []


def clean_cell(cell: str) -> str:
    """A cell's text without hidden comments, markdown escapes or joiners."""
    text = _COMMENT.sub("", cell).replace("\u200d", "")
    text = re.sub(r"\\(.)", r"\1", text)
    text = text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    return " ".join(text.split())


def render_table(found: Sequence[Proposal], existing: Sequence[Row] = ()) -> str:
    """The table: proposals (with the Owner / Due Date people filled in kept), then the
    rows people added, verbatim."""
    kept = {row.key: row for row in existing if row.key}
    lines = ["| " + " | ".join(HEADER) + " |", "|" + " --- |" * len(HEADER)]
    for number, proposal in enumerate(found, 1):
        row = kept.get(proposal.key)
        owner, due = (row.owner, row.due) if row else ("", "")
        action = f"{neutralise(proposal.action, max_len=300)} <!-- wk-pa:{proposal.key} -->"
        lines.append(f"| {number} | {action} | {neutralise(proposal.control, max_len=120)} | "
                     f"{owner} | {due} |")
    ours = {p.key for p in found}
    lines += [row.line.strip() for row in existing
              if row.key is None or row.key not in ours]
    return "\n".join(lines)


# --- rows to follow-ups -------------------------------------------------------------------


def _owner(cell: str) -> str | None:
    text = clean_cell(cell).strip("` ")
    return text.removeprefix("@") if text and is_handle(text) else None


def _due(cell: str) -> date | None:
    text = clean_cell(cell).strip("` ")
    if not _DATE.fullmatch(text):
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


def _slug(text: str) -> str:
    return _SLUG.sub("-", text.lower()).strip("-")[:40].strip("-") or "action"


def actions(rows: Sequence[Row]) -> tuple[list[Action], list[tuple[Row, str]]]:
    """Rows with an owner and a due date; and the rows skipped, with why (rows left
    entirely blank are proposals nobody took on and are not reported)."""
    found: list[Action] = []
    skipped: list[tuple[Row, str]] = []
    keys: set[str] = set()
    for row in rows:
        if not row.action:
            continue
        owner, due = _owner(row.owner), _due(row.due)
        if owner is None or due is None:
            if clean_cell(row.owner) or clean_cell(row.due):
                why = "the owner is not a GitHub login or team" if owner is None else \
                    "the due date is not a date (YYYY-MM-DD)"
                skipped.append((row, why))
            continue
        key = row.key or _slug(row.action)
        while key in keys:
            key = f"{key}-x"
        keys.add(key)
        found.append(Action(key, row.action, owner, due))
    return found, skipped
