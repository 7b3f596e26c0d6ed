"""dependabot_alert -> detection (created / reintroduced / reopened), recovery (fixed /
dismissed) or an alert state change (advisory withdrawn).

The subject is the advisory's GHSA id, so one advisory hitting several manifests in
a repository is one incident.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from watchkeeper.routing import Router
from watchkeeper.signals.alert import alert_event
from watchkeeper.signals.model import Signal, SignalKind
from watchkeeper.signals.payload import (
    facts,
    installation_id,
    opt_section,
    opt_text,
    sender_login,
)

EVENT = "dependabot_alert"
KINDS: Mapping[str, SignalKind] = {
    "created": "detection",
    "reintroduced": "detection",
    "reopened": "detection",
    "auto_reopened": "detection",
    "fixed": "recovery",
    "dismissed": "recovery",
    "auto_dismissed": "recovery",
    "withdrawn": "alert_state",
}
_TIMES: Mapping[str, tuple[str, ...]] = {
    "created": ("created_at",),
    "fixed": ("fixed_at", "updated_at"),
    "dismissed": ("dismissed_at", "updated_at"),
    "auto_dismissed": ("auto_dismissed_at", "updated_at"),
}


def parse(payload: Mapping[str, Any], *, received_at: datetime | None = None) -> Signal | None:
    event = alert_event(payload, KINDS)
    if event is None:
        return None
    alert, alert_number, repo, action = event.alert, event.number, event.repo, event.action
    advisory = opt_section(alert, "security_advisory")
    vulnerability = opt_section(alert, "security_vulnerability")
    dependency = opt_section(alert, "dependency")
    package = opt_section(dependency, "package") or opt_section(vulnerability, "package")
    ghsa = opt_text(advisory, "ghsa_id")
    summary = opt_text(advisory, "summary")
    marker = opt_text(alert, "updated_at") or opt_text(alert, "created_at") or ""
    return Signal(
        kind=event.kind,
        source="dependabot_alert",
        repo=repo,
        subject=ghsa or f"alert-{alert_number}",
        event_key=event.event_key(EVENT, marker),
        occurred_at=event.occurred_at(_TIMES, received_at),
        title=f"Dependabot alert #{alert_number}"
        + (f": {summary}" if summary else f" ({ghsa})" if ghsa else ""),
        installation_id=installation_id(payload),
        url=opt_text(alert, "html_url"),
        state=opt_text(alert, "state"),
        facts=facts(
            alert_number=alert_number,
            action=action,
            ghsa_id=ghsa,
            cve_id=opt_text(advisory, "cve_id"),
            advisory_severity=opt_text(advisory, "severity")
            or opt_text(vulnerability, "severity"),
            summary=summary,
            package=opt_text(package, "name"),
            ecosystem=opt_text(package, "ecosystem"),
            manifest_path=opt_text(dependency, "manifest_path"),
            scope=opt_text(dependency, "scope"),
            vulnerable_version_range=opt_text(vulnerability, "vulnerable_version_range"),
            first_patched_version=opt_text(
                opt_section(vulnerability, "first_patched_version"), "identifier"),
            dismissed_reason=opt_text(alert, "dismissed_reason"),
        ),
        sender=sender_login(payload),
    )


router = Router()
router.register(EVENT, parse, actions=tuple(KINDS))
