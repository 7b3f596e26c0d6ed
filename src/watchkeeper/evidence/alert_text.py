"""How an alert's state change reads on the timeline ("... resolved as revoked by octocat").

Kept apart from alerts.py because `incident.decide` uses it for its recovery entries and
alerts.py builds on `incident`. Text is raw (rendering neutralises it).
"""

from __future__ import annotations

from watchkeeper.signals.model import Signal

ALERT_SOURCES = ("code_scanning_alert", "secret_scanning_alert", "dependabot_alert")


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
