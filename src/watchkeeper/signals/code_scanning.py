"""code_scanning_alert -> detection (created / reopened / appeared in a branch) or
recovery (fixed / closed by a user).

The severity facts come from the raw payload: `rule.security_severity_level`
(low..critical) is absent from the typed webhook models, and older payloads lack it
altogether, so `rule.severity` (none/note/warning/error) is kept too.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from watchkeeper.routing import Router
from watchkeeper.signals.alert import alert_event
from watchkeeper.signals.model import Signal, SignalKind
from watchkeeper.signals.payload import (
    branch_from_ref,
    facts,
    installation_id,
    opt_section,
    opt_text,
    sender_login,
)

EVENT = "code_scanning_alert"
KINDS: Mapping[str, SignalKind] = {
    "created": "detection",
    "reopened": "detection",
    "appeared_in_branch": "detection",
    "reopened_by_user": "detection",
    "fixed": "recovery",
    "closed_by_user": "recovery",
}
# Where the signal's own time is read, by action (then the delivery's receipt time).
_TIMES: Mapping[str, tuple[str, ...]] = {
    "created": ("created_at",),
    "fixed": ("fixed_at", "updated_at"),
    "closed_by_user": ("dismissed_at", "updated_at"),
}


def _latest_instance(alert: Mapping[str, Any]) -> Mapping[str, Any]:
    recent = opt_section(alert, "most_recent_instance")
    if recent:
        return recent
    instances = alert.get("instances")
    if isinstance(instances, list) and instances and isinstance(instances[0], Mapping):
        return instances[0]
    return {}


def parse(payload: Mapping[str, Any], *, received_at: datetime | None = None) -> Signal | None:
    event = alert_event(payload, KINDS)
    if event is None:
        return None
    alert, alert_number, repo, action = event.alert, event.number, event.repo, event.action
    rule = opt_section(alert, "rule")
    tool = opt_section(alert, "tool")
    instance = _latest_instance(alert)
    ref = opt_text(payload, "ref") or opt_text(instance, "ref")
    sha = opt_text(payload, "commit_oid") or opt_text(instance, "commit_sha")
    what = opt_text(rule, "description") or opt_text(rule, "name") or opt_text(rule, "id")
    marker = (opt_text(alert, "updated_at") or (f"{ref}@{sha}" if ref or sha else None)
              or opt_text(alert, "fixed_at") or opt_text(alert, "dismissed_at")
              or opt_text(alert, "created_at") or "")
    return Signal(
        kind=event.kind,
        source="code_scanning_alert",
        repo=repo,
        subject=str(alert_number),
        event_key=event.event_key(EVENT, marker),
        occurred_at=event.occurred_at(_TIMES, received_at),
        title=f"Code scanning alert #{alert_number}" + (f": {what}" if what else ""),
        installation_id=installation_id(payload),
        branch=branch_from_ref(ref),
        commit_sha=sha,
        url=opt_text(alert, "html_url"),
        state=opt_text(alert, "state"),
        facts=facts(
            alert_number=alert_number,
            action=action,
            rule_id=opt_text(rule, "id"),
            rule_name=opt_text(rule, "name"),
            rule_description=opt_text(rule, "description"),
            rule_severity=opt_text(rule, "severity"),
            security_severity_level=opt_text(rule, "security_severity_level"),
            tool_name=opt_text(tool, "name"),
            tool_version=opt_text(tool, "version"),
            ref=ref,
            location_path=opt_text(opt_section(instance, "location"), "path"),
            dismissed_reason=opt_text(alert, "dismissed_reason"),
            dismissed_by=opt_text(opt_section(alert, "dismissed_by"), "login"),
        ),
        sender=sender_login(payload),
    )


router = Router()
router.register(EVENT, parse, actions=tuple(KINDS))
