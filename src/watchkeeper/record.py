"""The incident as stored: the record every decision reads and returns.

Plain frozen dataclasses with a JSON round trip, so the store can keep one
document per incident and the issue can carry enough of it (hidden metadata)
to rebuild a lost database. Times are timezone-aware UTC datetimes.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import types
import typing
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from watchkeeper.closure.model import Closure

Severity = Literal["critical", "high", "medium", "low"]
SEVERITIES: tuple[Severity, ...] = ("critical", "high", "medium", "low")

Milestone = Literal["acknowledged", "contained", "fixed"]
MILESTONES: tuple[Milestone, ...] = ("acknowledged", "contained", "fixed")

Status = Literal["open", "acknowledged", "contained", "fixed", "closed"]

ROLES: tuple[str, ...] = ("incident_commander", "mitigation_owner", "communications_owner",
                          "security_owner")


@dataclass(frozen=True, slots=True)
class TimelineEntry:
    at: datetime
    actor: str  # GitHub login, or "watchkeeper"
    kind: str  # "detected", "occurrence", "checklist", "severity", "milestone", ...
    text: str  # already-neutralised markdown-safe text is produced at render time
    url: str | None = None  # a link for the entry (run, alert, PR), rendered if https
    key: str | None = None  # dedup identity, e.g. the signal's event_key
    # Structured fields of the entry, e.g. a status update's impact / mitigation / next,
    # so later readers (decision log, postmortem) need not parse `text`.
    data: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class Evidence:
    key: str  # dedup identity, e.g. "run:123:1", "pr:owner/repo#4", "deployment:99"
    kind: str  # "workflow_run", "alert", "pull_request", "deployment", "commit", ...
    title: str
    url: str | None = None
    identifiers: tuple[tuple[str, str], ...] = ()  # e.g. (("run_id", "123"), ("sha", "abc"))
    at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Occurrences:
    count: int = 1
    last_at: datetime | None = None
    last_url: str | None = None
    last_commit: str | None = None
    last_event_key: str | None = None
    # When the last occurrence comment was posted (coalescing window); None: never.
    last_comment_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class SlaClock:
    """The SLA timers as the sweep last computed them, so a sweep can skip an incident
    with nothing due without loading its config or calling GitHub."""

    basis: str = ""  # the record's inputs (severity, detection, milestones) they came from
    deadlines: tuple[tuple[str, datetime], ...] = ()  # (step, deadline); none: step absent
    next_check: datetime | None = None  # the sweep's next reason to look (timer or refresh)
    release_due: datetime | None = None  # "next release": the next open milestone's due date
    release_title: str = ""


@dataclass(frozen=True, slots=True)
class FrozenCheck:
    """A `watchkeeper/freeze` check run published on a pull request's head commit."""

    repo: str  # "owner/name" of the pull request
    pr: int
    sha: str
    check_run_id: int | None = None  # None: not known yet (looked up by name on the commit)
    conclusion: str = ""  # failure (blocked), success (the fix), neutral (lifted)


@dataclass(frozen=True, slots=True)
class FreezeState:
    """The deployment freeze this incident holds on its repository (evidence/freeze.py)."""

    active: bool = False
    reason: str = ""  # what started (or, once lifted, what lifted) it
    by: str | None = None  # login, or "watchkeeper"
    since: datetime | None = None
    lifted_at: datetime | None = None
    checks: tuple[FrozenCheck, ...] = ()


@dataclass(frozen=True, slots=True)
class Incident:
    id: str  # stable incident ID, e.g. "WK-0007"
    fingerprint: str
    repo: str  # repository the signal came from, "owner/name"
    tracker_repo: str  # repository holding the incident issue
    installation_id: int | None
    severity: Severity
    status: Status
    rule: str  # the policy rule that opened it ("secret_scan", "dependabot_alert", ...)
    source: str  # SourceKind of the opening signal
    title: str  # untrusted summary of what failed (raw)
    detected_at: datetime  # the signal's own time: the SLA clock starts here
    recorded_at: datetime  # when Watchkeeper processed it
    issue_number: int | None = None
    branch: str | None = None
    commit_sha: str | None = None
    url: str | None = None
    subject: str = ""
    facts: tuple[tuple[str, str], ...] = ()
    roles: tuple[tuple[str, str], ...] = ()  # (role, login or @org/team)
    milestones: tuple[tuple[str, datetime], ...] = ()  # (milestone, reached at)
    checklist_done: tuple[str, ...] = ()  # keys of ticked checklist items
    occurrences: Occurrences = field(default_factory=Occurrences)
    timeline: tuple[TimelineEntry, ...] = ()
    evidence: tuple[Evidence, ...] = ()
    config_problems: tuple[str, ...] = ()
    closed_at: datetime | None = None
    # Keys of one-shot effects already performed (a reminder, a breach escalation, a
    # handled command), so replays and restarts never repeat them.
    done_keys: tuple[str, ...] = ()
    # SLA timers' state (deadlines, next sweep check), maintained by the SLA clock.
    sla_clock: SlaClock = field(default_factory=SlaClock)
    # Closing: Definition of Done, the postmortem pull request, follow-ups (closure/).
    closure: Closure = field(default_factory=Closure)
    # The deployment freeze (check runs blocking merges) this incident holds.
    freeze: FreezeState = field(default_factory=FreezeState)
    # Repeats coalesced: issue sections behind the record, refreshed together later
    # (incident.refresh_stale), and when the body last got such a refresh.
    stale_sections: tuple[str, ...] = ()
    sections_refreshed_at: datetime | None = None
    version: int = 0  # optimistic concurrency in the store

    def milestone(self, name: str) -> datetime | None:
        return dict(self.milestones).get(name)

    def role(self, name: str) -> str | None:
        return dict(self.roles).get(name)

    def done(self, key: str) -> bool:
        return key in self.done_keys

    def with_done(self, *keys: str) -> Incident:
        new = tuple(k for k in dict.fromkeys(keys) if k not in self.done_keys)
        return self if not new else dataclasses.replace(self, done_keys=(*self.done_keys, *new))

    def replace(self, **changes: Any) -> Incident:
        return dataclasses.replace(self, **changes)


# --- JSON round trip -------------------------------------------------------------

def _encode(value: Any) -> Any:
    if isinstance(value, datetime):
        return {"$dt": value.isoformat()}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _encode(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, (tuple, list)):
        return [_encode(v) for v in value]
    return value


def _decode(value: Any, hint: Any) -> Any:
    """Rebuild a value from JSON guided by its type hint (nested dataclasses, tuples,
    datetimes), so records gain fields without touching this code."""
    if value is None:
        return None
    if isinstance(value, dict) and set(value) == {"$dt"}:
        return datetime.fromisoformat(value["$dt"])
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        non_none = [a for a in args if a is not type(None)]
        return _decode(value, non_none[0]) if len(non_none) == 1 else _decode(value, Any)
    if dataclasses.is_dataclass(hint) and isinstance(value, dict):
        return _decode_dataclass(hint, value)
    if isinstance(value, list):
        if origin is tuple and args and args[-1] is not Ellipsis:
            return tuple(_decode(v, a) for v, a in zip(value, args, strict=False))
        item = args[0] if origin is tuple and args else Any
        return tuple(_decode(v, item) for v in value)
    return value


def _decode_dataclass(cls: Any, raw: dict[str, Any]) -> Any:
    hints = _hints(cls)
    known = {f.name for f in dataclasses.fields(cls)}
    return cls(**{k: _decode(v, hints[k]) for k, v in raw.items() if k in known})


@functools.cache
def _hints(cls: Any) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def incident_to_json(incident: Incident) -> str:
    return json.dumps(_encode(incident), separators=(",", ":"), sort_keys=True)


def incident_from_json(text: str) -> Incident:
    """Unknown keys are ignored (a newer writer); missing keys take their defaults."""
    incident: Incident = _decode_dataclass(Incident, json.loads(text))
    return incident


