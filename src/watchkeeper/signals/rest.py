"""REST objects dressed as the webhooks GitHub would have sent for them, so a missed delivery
is made good by the very parser (and Signal) the webhook would have produced.

The REST shapes of alerts and workflow runs are the webhook shapes (the webhook's ``alert``
and ``workflow_run`` objects are the REST objects); the payload adds the action, the
repository and the installation, as deliveries to an App carry them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

# REST path segment -> webhook event.
ALERT_EVENTS: Mapping[str, str] = {
    "code-scanning": "code_scanning_alert",
    "secret-scanning": "secret_scanning_alert",
    "dependabot": "dependabot_alert",
}
# Incident source -> REST path segment.
SOURCE_KINDS: Mapping[str, str] = {event: kind for kind, event in ALERT_EVENTS.items()}
# (kind, alert state) -> the action of the webhook that announced the state.
_CLOSING_ACTIONS: Mapping[tuple[str, str], str] = {
    ("code-scanning", "fixed"): "fixed",
    ("code-scanning", "dismissed"): "closed_by_user",
    ("secret-scanning", "resolved"): "resolved",
    ("dependabot", "fixed"): "fixed",
    ("dependabot", "dismissed"): "dismissed",
    ("dependabot", "auto_dismissed"): "auto_dismissed",
}


def webhook_payload(body: Mapping[str, Any], repository: Mapping[str, Any],
                    installation_id: int, action: str) -> dict[str, Any]:
    return {"action": action, **body, "repository": dict(repository),
            "installation": {"id": installation_id}}


def opened_alert(kind: str, alert: Mapping[str, Any], repository: Mapping[str, Any],
                 installation_id: int) -> tuple[str, dict[str, Any]]:
    """(event, payload) of the ``created`` webhook for an open alert."""
    return ALERT_EVENTS[kind], webhook_payload({"alert": dict(alert)}, repository,
                                               installation_id, "created")


def closing_action(kind: str, alert: Mapping[str, Any]) -> str | None:
    """The webhook action for an alert that is no longer open; None while it is."""
    return _CLOSING_ACTIONS.get((kind, str(alert.get("state") or "")))


def closed_alert(kind: str, alert: Mapping[str, Any], repository: Mapping[str, Any],
                 installation_id: int) -> tuple[str, dict[str, Any]] | None:
    """(event, payload) of the webhook that fixed, dismissed or resolved the alert."""
    action = closing_action(kind, alert)
    if action is None:
        return None
    return ALERT_EVENTS[kind], webhook_payload({"alert": dict(alert)}, repository,
                                               installation_id, action)


def latest_runs(runs: Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """The newest completed run of each workflow on each branch (older ones were settled
    by it: a failure followed by a success is a recovery, not two signals)."""
    newest: dict[tuple[str, str], Mapping[str, Any]] = {}
    for run in runs:
        if run.get("status") not in (None, "completed") or not run.get("conclusion"):
            continue
        key = (str(run.get("path") or run.get("workflow_id") or run.get("name")),
               str(run.get("head_branch") or ""))
        best = newest.get(key)
        if best is None or _order(run) > _order(best):
            newest[key] = run
    return sorted(newest.values(), key=_order)


def _order(run: Mapping[str, Any]) -> tuple[str, int, int]:
    return (str(run.get("updated_at") or ""), int(run.get("id") or 0),
            int(run.get("run_attempt") or 1))


def completed_run(run: Mapping[str, Any], repository: Mapping[str, Any],
                  installation_id: int) -> tuple[str, dict[str, Any]]:
    """(event, payload) of the ``workflow_run.completed`` webhook for a run."""
    workflow = {"id": run.get("workflow_id"), "name": run.get("name"), "path": run.get("path")}
    return "workflow_run", webhook_payload({"workflow_run": dict(run), "workflow": workflow},
                                           repository, installation_id, "completed")
