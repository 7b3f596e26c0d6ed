"""The Alertmanager webhook body (version "4"), validated, as Alarms. Pure.

    {"version": "4", "status": "firing", "receiver": "...", "groupKey": "...",
     "alerts": [{"status": "firing" | "resolved", "labels": {...}, "annotations": {...},
                 "startsAt": "RFC 3339", "endsAt": "RFC 3339", "generatorURL": "...",
                 "fingerprint": "..."}], ...}

Labels route and describe an alert: `repository` ("owner/name", required),
`severity`, `service` (or `job`), `alertname`, and `dedup_key` (alerts sharing it
join one incident; default: the alert's own fingerprint). Annotations `summary` and
`description` give the title and summary. The body is untrusted: structure and sizes
are checked, and any problem is a clear error (a 4xx), never an exception.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from watchkeeper.alarms.model import Alarm, AlarmStatus, valid_repo
from watchkeeper.signals.payload import timestamp

VERSION = "4"
MAX_ALERTS = 500
MAX_PAIRS = 64
MAX_KEY = 200
MAX_VALUE = 4000
_FINGERPRINT = re.compile(r"[A-Za-z0-9._:-]{1,128}")
_SHOWN_PROBLEMS = 10


class InvalidAlerts(ValueError):
    """The body is not an Alertmanager webhook; the message says what is wrong."""


@dataclass(frozen=True, slots=True)
class AlertBatch:
    alarms: tuple[Alarm, ...]
    ignored: tuple[str, ...] = ()  # why well-formed alerts were not taken (no repository)


def parse_alertmanager(data: object) -> AlertBatch:
    if not isinstance(data, Mapping):
        raise InvalidAlerts("the body must be a JSON object")
    if data.get("version") != VERSION:
        raise InvalidAlerts(f'only the Alertmanager webhook version "{VERSION}" is understood')
    alerts = data.get("alerts")
    if not isinstance(alerts, list) or not alerts:
        raise InvalidAlerts("alerts must be a non-empty list")
    if len(alerts) > MAX_ALERTS:
        raise InvalidAlerts(f"at most {MAX_ALERTS} alerts per request")
    problems: list[str] = []
    alarms: list[Alarm] = []
    ignored: list[str] = []
    for index, alert in enumerate(alerts):
        where = f"alerts[{index}]"
        try:
            alarm = _alarm(alert, where)
        except InvalidAlerts as exc:
            problems.append(str(exc))
            continue
        if isinstance(alarm, str):
            ignored.append(alarm)
        else:
            alarms.append(alarm)
    if problems:
        more = len(problems) - _SHOWN_PROBLEMS
        raise InvalidAlerts("; ".join(problems[:_SHOWN_PROBLEMS])
                            + (f"; and {more} more" if more > 0 else ""))
    return AlertBatch(tuple(alarms), tuple(ignored))


def _pairs(alert: Mapping[str, Any], key: str, where: str, required: bool) -> dict[str, str]:
    raw = alert.get(key)
    if raw is None and not required:
        return {}
    if not isinstance(raw, Mapping):
        raise InvalidAlerts(f"{where}.{key} must be an object of strings")
    if len(raw) > MAX_PAIRS:
        raise InvalidAlerts(f"{where}.{key} has more than {MAX_PAIRS} entries")
    out: dict[str, str] = {}
    for name, value in raw.items():
        if not isinstance(value, str) or len(name) > MAX_KEY or len(value) > MAX_VALUE:
            raise InvalidAlerts(f"{where}.{key} must map names to strings "
                                f"(names up to {MAX_KEY}, values up to {MAX_VALUE} characters)")
        out[name] = value
    return out


def _time(alert: Mapping[str, Any], key: str, where: str, required: bool) -> datetime | None:
    raw = alert.get(key)
    if raw is None or raw == "":
        if required:
            raise InvalidAlerts(f"{where}.{key} is required")
        return None
    at = timestamp(raw)
    if at is None:
        raise InvalidAlerts(f"{where}.{key} must be an RFC 3339 time")
    if at.year <= 1:  # Go's zero time: "not set"
        if required:
            raise InvalidAlerts(f"{where}.{key} must be a real time")
        return None
    return at


def _text(alert: Mapping[str, Any], key: str, where: str, limit: int) -> str | None:
    raw = alert.get(key)
    if raw is None or raw == "":
        return None
    if not isinstance(raw, str) or len(raw) > limit:
        raise InvalidAlerts(f"{where}.{key} must be a string of at most {limit} characters")
    return raw


def _one_line(text: str | None, limit: int) -> str | None:
    line = " ".join((text or "").split())[:limit]
    return line or None


def _alarm(alert: object, where: str) -> Alarm | str:
    """The alarm, or (a string) why this well-formed alert is not taken."""
    if not isinstance(alert, Mapping):
        raise InvalidAlerts(f"{where} must be an object")
    status = alert.get("status")
    if status not in ("firing", "resolved"):
        raise InvalidAlerts(f"{where}.status must be firing or resolved")
    labels = _pairs(alert, "labels", where, required=True)
    notes = _pairs(alert, "annotations", where, required=False)
    starts = _time(alert, "startsAt", where, required=True)
    ends = _time(alert, "endsAt", where, required=False)
    url = _text(alert, "generatorURL", where, 2000)
    print_ = _text(alert, "fingerprint", where, 128)
    if print_ is not None and not _FINGERPRINT.fullmatch(print_):
        raise InvalidAlerts(f"{where}.fingerprint has unexpected characters")
    repo = valid_repo(labels.get("repository"))
    if repo is None:
        return f"{where}: no usable repository label (owner/name)"
    assert starts is not None  # required above
    identity = print_ or _label_hash(labels)
    state: AlarmStatus = "resolved" if status == "resolved" else "firing"
    at = (ends or starts) if state == "resolved" else starts
    title = _one_line(notes.get("summary") or labels.get("alertname"), 200) or "Production alarm"
    return Alarm(
        origin="alertmanager",
        repo=repo,
        status=state,
        title=title,
        dedup_key=_one_line(labels.get("dedup_key"), 200) or identity,
        at=at,
        event_key=f"alertmanager:{identity}:{starts.isoformat()}:{state}",
        severity=_one_line(labels.get("severity"), 40),
        service=_one_line(labels.get("service") or labels.get("job"), 100),
        summary=_one_line(notes.get("description") or notes.get("summary"), 2000),
        url=url,
        alertname=_one_line(labels.get("alertname"), 200),
    )


def _label_hash(labels: Mapping[str, str]) -> str:
    joined = "\n".join(f"{k}={v}" for k, v in sorted(labels.items()))
    return "labels-" + hashlib.sha256(joined.encode("utf-8", "replace")).hexdigest()[:16]
