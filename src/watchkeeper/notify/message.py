"""What a notification says, per target kind.

Slack-compatible targets get `{"text": ...}` in Slack's mrkdwn; generic webhooks get
structured JSON. Incident titles and summaries are untrusted: for Slack, `&`, `<` and `>`
are escaped (only `<...>` sequences make links or `<!channel>` pings) and lines are
folded; for JSON they stay data, for the receiver to treat as such.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from watchkeeper.notify.action import Notify
from watchkeeper.record import Incident

EVENT_TITLES = {
    "opened": "incident opened",
    "severity_changed": "severity changed",
    "status_update": "status update",
    "sla_breach": "SLA breach",
    "closed": "incident closed",
    "reopened": "incident reopened",
}
SCHEMA = "watchkeeper.notification/1"


def web_url(api_url: str) -> str:
    """GitHub's web address for an API root: api.github.com -> github.com, and a GitHub
    Enterprise Server's https://HOST/api/v3 -> https://HOST."""
    parts = urlsplit(api_url.rstrip("/"))
    host = parts.netloc
    if host.lower() == "api.github.com":
        return "https://github.com"
    if host.lower().startswith("api."):
        host = host[4:]
    return f"{parts.scheme or 'https'}://{host}"


def issue_url(incident: Incident, web: str) -> str | None:
    if incident.issue_number is None:
        return None
    return f"{web.rstrip('/')}/{incident.tracker_repo}/issues/{incident.issue_number}"


def _line(text: str, limit: int) -> str:
    one = " ".join(str(text).split())
    return one if len(one) <= limit else one[: limit - 1] + "…"


def _slack(text: str, limit: int = 300) -> str:
    return _line(text, limit).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _at(action: Notify, incident: Incident) -> datetime:
    return (action.at or incident.recorded_at).astimezone(UTC)


def slack_body(incident: Incident, action: Notify, link: str | None) -> dict[str, Any]:
    head = (f"*{_slack(incident.id, 64)}* · {_slack(incident.severity, 20)} · "
            f"{EVENT_TITLES.get(action.event, _slack(action.event, 40))}")
    lines = [head, _slack(action.summary), f"_{_slack(incident.title, 200)}_"]
    where = f"Status {_slack(incident.status, 20)} · {_slack(incident.tracker_repo, 200)}"
    if link:
        where += f" · <{link.replace('|', '%7C').replace('>', '%3E')}|issue>"
    lines.append(where + f" · {_at(action, incident):%Y-%m-%d %H:%M} UTC")
    return {"text": "\n".join(lines)}


def webhook_body(incident: Incident, action: Notify, link: str | None) -> dict[str, Any]:
    return {
        "schema": SCHEMA,
        "event": action.event,
        "summary": _line(action.summary, 1000),
        "at": _at(action, incident).isoformat(),
        "incident": {
            "id": incident.id,
            "title": _line(incident.title, 500),
            "severity": incident.severity,
            "status": incident.status,
            "repository": incident.repo,
            "tracker_repository": incident.tracker_repo,
            "issue_number": incident.issue_number,
            "issue_url": link,
            "detected_at": incident.detected_at.astimezone(UTC).isoformat(),
        },
        "key": action.key,
    }


def body_for(kind: str, incident: Incident, action: Notify, link: str | None) -> dict[str, Any]:
    if kind == "slack":
        return slack_body(incident, action, link)
    return webhook_body(incident, action, link)
