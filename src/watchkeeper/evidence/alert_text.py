"""An alert's state change as a timeline text ("... resolved as revoked by octocat") and as
evidence (a secret revoked or confirmed inactive is containment evidence).

Kept apart from alerts.py because `incident.decide` uses these for its recovery entries and
alerts.py builds on `incident`. Text is raw (rendering neutralises it).
"""

from __future__ import annotations

from watchkeeper.record import Evidence
from watchkeeper.signals.model import Signal

ALERT_SOURCES = ("code_scanning_alert", "secret_scanning_alert", "dependabot_alert")
_ID_FACTS = ("alert_number", "action", "resolution", "validity", "dismissed_reason", "ghsa_id")


def _words(value: str | None) -> str:
    return (value or "").replace("_", " ").strip()


def _by(login: str | None) -> str:
    return f" by {login}" if login else ""


def alert_change(signal: Signal) -> str:
    """What happened to the alert: "fixed", "resolved as revoked by octocat", ..."""
    facts, action = signal.facts, signal.facts.get("action", "")
    if signal.source == "secret_scanning_alert":
        if action == "resolved":
            how = _words(facts.get("resolution"))
            return f"resolved{' as ' + how if how else ''}{_by(facts.get('resolved_by'))}"
        if action == "validated":
            validity = facts.get("validity") or "unknown"
            note = " (the secret no longer works)" if validity == "inactive" else ""
            return f"validity re-checked: {validity}{note}"
    if signal.source == "code_scanning_alert":
        if action == "fixed":
            return "fixed" + (f" on {signal.branch}" if signal.branch else "")
        if action == "closed_by_user":
            reason = _words(facts.get("dismissed_reason"))
            return f"dismissed{_by(facts.get('dismissed_by'))}" + (f" ({reason})" if reason
                                                                  else "")
    if signal.source == "dependabot_alert":
        if action in ("dismissed", "auto_dismissed"):
            reason = _words(facts.get("dismissed_reason"))
            verb = "auto-dismissed" if action == "auto_dismissed" else "dismissed"
            return verb + (f" ({reason})" if reason else "")
        if action == "withdrawn":
            return "advisory withdrawn"
    return _words(action) or "changed"


def alert_change_text(signal: Signal) -> str:
    """The timeline text for an alert's state change."""
    return f"{signal.title} — {alert_change(signal)}"


def containment(signal: Signal) -> str | None:
    """"secret revoked" / "secret inactive" when the change is containment evidence."""
    if signal.source != "secret_scanning_alert":
        return None
    action = signal.facts.get("action")
    if action == "resolved" and signal.facts.get("resolution") == "revoked":
        return "secret revoked"
    if action == "validated" and signal.facts.get("validity") == "inactive":
        return "secret inactive"
    return None


def alert_evidence(signal: Signal) -> Evidence:
    """The alert change as evidence, keyed by the signal's event key."""
    ids = [(name, signal.facts[name]) for name in _ID_FACTS if signal.facts.get(name)]
    if signal.state:
        ids.append(("state", signal.state))
    if signal.commit_sha:
        ids.append(("sha", signal.commit_sha))
    if (contained := containment(signal)) is not None:
        ids.append(("containment", contained))
    return Evidence(key=signal.event_key, kind=signal.source,
                    title=alert_change_text(signal), url=signal.url, identifiers=tuple(ids),
                    at=signal.occurred_at)
