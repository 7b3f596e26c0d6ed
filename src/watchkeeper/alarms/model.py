"""The `Alarm`: one firing or resolved production alarm, from either door. Pure."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any, Final, Literal

from watchkeeper.record import Severity
from watchkeeper.runbook.model import Config, Match
from watchkeeper.runbook.policy import fingerprint
from watchkeeper.signals.model import RepoRef, Signal
from watchkeeper.signals.payload import MalformedPayload, facts, timestamp

RULE = "alarm"
SOURCE: Final = "alarm"
DEFAULT_SEVERITY: Severity = "medium"
REPO = re.compile(r"[A-Za-z0-9_.-]{1,100}/[A-Za-z0-9_.-]{1,100}")
AlarmStatus = Literal["firing", "resolved"]
# Words alarm systems use for severity -> the runbook's levels. Anything else (or
# nothing) is medium: set a severity:<level> label on the issue to change it.
SEVERITY_WORDS: Mapping[str, Severity] = {
    "critical": "critical", "crit": "critical", "page": "critical", "p1": "critical",
    "sev1": "critical", "emergency": "critical", "fatal": "critical",
    "high": "high", "major": "high", "error": "high", "p2": "high", "sev2": "high",
    "medium": "medium", "moderate": "medium", "warning": "medium", "warn": "medium",
    "p3": "medium", "sev3": "medium",
    "low": "low", "minor": "low", "info": "low", "informational": "low", "p4": "low",
    "sev4": "low",
}


@dataclass(frozen=True, slots=True)
class Alarm:
    origin: Literal["repository_dispatch", "alertmanager"]
    repo: str  # "owner/name": where the incident belongs (config decides the tracker)
    status: AlarmStatus
    title: str  # untrusted, raw
    dedup_key: str  # alarms with the same key join one open incident
    at: datetime  # when it started firing, or resolved
    event_key: str  # replay identity of this very notification
    severity: str | None = None  # as the sender wrote it
    service: str | None = None
    summary: str | None = None
    url: str | None = None
    sender: str | None = None
    alertname: str | None = None

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["at"] = self.at.isoformat()
        return data


def valid_repo(value: object) -> str | None:
    if isinstance(value, str) and REPO.fullmatch(value) and ".." not in value:
        return value
    return None


def alarm_from_json(data: Mapping[str, Any]) -> Alarm:
    """The stored form back (the receiver wrote it; read defensively all the same)."""
    def opt(key: str) -> str | None:
        value = data.get(key)
        return value if isinstance(value, str) and value else None

    repo, at = valid_repo(data.get("repo")), timestamp(data.get("at"))
    origin, status = data.get("origin"), data.get("status")
    title, dedup, key = opt("title"), opt("dedup_key"), opt("event_key")
    if repo is None or at is None or title is None or dedup is None or key is None:
        raise MalformedPayload("stored alarm lacks repo, at, title, dedup_key or event_key")
    if origin not in ("repository_dispatch", "alertmanager") or \
            status not in ("firing", "resolved"):
        raise MalformedPayload("stored alarm has an unknown origin or status")
    return Alarm(origin, repo, status, title, dedup, at, key, severity=opt("severity"),
                 service=opt("service"), summary=opt("summary"), url=opt("url"),
                 sender=opt("sender"), alertname=opt("alertname"))


def map_severity(raw: str | None) -> Severity:
    word = (raw or "").strip().lower().removeprefix("severity:")
    return SEVERITY_WORDS.get(word, DEFAULT_SEVERITY)


def alarm_signal(alarm: Alarm, installation_id: int | None) -> Signal:
    owner, name = alarm.repo.split("/", 1)
    return Signal(
        kind="detection" if alarm.status == "firing" else "recovery",
        source=SOURCE,
        repo=RepoRef(owner, name),
        subject=alarm.dedup_key,
        event_key=alarm.event_key,
        occurred_at=alarm.at,
        title=alarm.title,
        installation_id=installation_id,
        url=alarm.url,
        state=alarm.status,
        facts=facts(service=alarm.service, alert_summary=alarm.summary,
                    alertname=alarm.alertname, dedup_key=alarm.dedup_key,
                    alarm_origin=alarm.origin, alarm_severity=alarm.severity),
        sender=alarm.sender,
    )


def alarm_match(alarm: Alarm, config: Config) -> Match:
    """Every alarm opens (or joins) an incident: the fingerprint is repository + "alarm"
    + dedup key, so both doors join the same incident for the same key."""
    return Match(
        rule=RULE,
        severity=map_severity(alarm.severity),
        fingerprint=fingerprint(alarm.repo, RULE, alarm.dedup_key, None),
        tracker_repo=config.incidents_repository or alarm.repo,
    )
