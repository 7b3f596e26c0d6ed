"""A person's report, read from an `issues` webhook, and the incident form's fields.

The issue form (`.github/ISSUE_TEMPLATE/incident.yml`) renders each field as a
`### <label>` heading followed by the answer; "_No response_" marks a field left
empty. Everything read here is untrusted text: rendering escapes it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from watchkeeper.record import SEVERITIES, Severity
from watchkeeper.signals.payload import (
    installation_id,
    number,
    opt_section,
    opt_text,
    repository,
    section,
    sender_login,
    timestamp,
)

INCIDENT_LABEL = "incident"
SEVERITY_PREFIX = "severity:"
# The form's field labels (see .github/ISSUE_TEMPLATE/incident.yml).
FORM_FIELDS = ("What happened", "Suspected scope", "Impact", "Severity", "Reporter contact")
# Seen together, these headings mean the issue came from the form (even when the
# repository lacked the `incident` label, which GitHub then does not apply).
FORM_SIGNATURE = ("What happened", "Suspected scope", "Impact", "Severity")
NO_RESPONSE = "_No response_"
_HEADING = re.compile(r"^###[ \t]+(.+?)[ \t]*#*[ \t]*$", re.M)
_MAX_FORM_BODY = 70_000


@dataclass(frozen=True, slots=True)
class Report:
    """The issue a person opened, as far as adopting it needs."""

    repo: str  # "owner/name"
    number: int
    title: str
    body: str
    reporter: str  # the issue's author
    sender: str  # who performed this event (opened it, or added the label)
    created_at: datetime
    labels: tuple[str, ...]
    state: str
    url: str | None
    installation_id: int | None
    event_at: datetime  # when this event happened (the issue's updated_at)


def read_report(payload: Mapping[str, Any], received_at: datetime) -> Report:
    """Raises MalformedPayload when the issue cannot be identified."""
    issue = section(payload, "issue")
    created = timestamp(issue.get("created_at")) or received_at
    return Report(
        repo=repository(payload).full_name,
        number=number(issue, "number"),
        title=opt_text(issue, "title") or "(untitled report)",
        body=cast(str, issue.get("body")) if isinstance(issue.get("body"), str) else "",
        reporter=opt_text(opt_section(issue, "user"), "login") or "unknown",
        sender=sender_login(payload) or "unknown",
        created_at=created,
        labels=label_names(issue.get("labels")),
        state=opt_text(issue, "state") or "open",
        url=opt_text(issue, "html_url"),
        installation_id=installation_id(payload),
        event_at=timestamp(issue.get("updated_at")) or received_at,
    )


def added_label(payload: Mapping[str, Any]) -> str | None:
    """The label an `issues.labeled` event added."""
    return opt_text(opt_section(payload, "label"), "name")


def label_names(raw: object) -> tuple[str, ...]:
    if not isinstance(raw, Sequence) or isinstance(raw, str):
        return ()
    names = (item.get("name") if isinstance(item, Mapping) else item for item in raw)
    return tuple(n for n in names if isinstance(n, str) and n)


def has_label(labels: Sequence[str], name: str) -> bool:
    return any(label.lower() == name.lower() for label in labels)


def form_fields(body: str | None) -> dict[str, str]:
    """`### Heading` -> answer, for every heading in the body (answers raw, stripped;
    "_No response_" reads as empty)."""
    text = (body or "")[:_MAX_FORM_BODY]
    marks = list(_HEADING.finditer(text))
    out: dict[str, str] = {}
    for i, m in enumerate(marks):
        end = marks[i + 1].start() if i + 1 < len(marks) else len(text)
        answer = text[m.end():end].strip()
        out.setdefault(m.group(1).strip(), "" if answer == NO_RESPONSE else answer)
    return out


def is_form(body: str | None) -> bool:
    fields = form_fields(body)
    return all(name in fields for name in FORM_SIGNATURE)


def label_severity(labels: Sequence[str]) -> Severity | None:
    """The most severe `severity:<level>` label, if any."""
    levels = {label.lower().removeprefix(SEVERITY_PREFIX) for label in labels
              if label.lower().startswith(SEVERITY_PREFIX)}
    return next((s for s in SEVERITIES if s in levels), None)


def form_severity(body: str | None) -> Severity | None:
    """The form's severity answer ("high — exploitable injection ..." reads as high)."""
    answer = form_fields(body).get("Severity", "")
    word = answer.split(maxsplit=1)[0].strip(".,:;*_`").lower() if answer.strip() else ""
    return next((s for s in SEVERITIES if s == word), None)


def declares_incident(report: Report, event: str, added: str | None = None) -> bool:
    """Does this `issues` event ask for the issue to become an incident?"""
    if report.state != "open":
        return False
    if event == "opened":
        return has_label(report.labels, INCIDENT_LABEL) or is_form(report.body)
    if event == "labeled":
        return (added is not None and added.lower() == INCIDENT_LABEL
                and has_label(report.labels, INCIDENT_LABEL))
    return False

