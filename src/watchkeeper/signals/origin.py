"""Recognising Watchkeeper's own activity, so that its writes never start a loop.

Its issue edits and comments come back as webhooks from `<slug>[bot]`, and the
postmortem pull requests it opens (branches under `watchkeeper/`) trigger workflows.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

BRANCH_PREFIX = "watchkeeper/"
_OBJECTS = ("comment", "issue", "pull_request", "check_run", "review")


def is_own_event(payload: Mapping[str, Any], app_slug: str | None) -> bool:
    """True when the event was performed by this app (by its bot user or through it)."""
    if not app_slug or not isinstance(payload, Mapping):
        return False
    sender = payload.get("sender")
    if isinstance(sender, Mapping) and sender.get("type") == "Bot" and (
        sender.get("login") == f"{app_slug}[bot]"
    ):
        return True
    for key in (None, *_OBJECTS):
        holder = payload if key is None else payload.get(key)
        via = holder.get("performed_via_github_app") if isinstance(holder, Mapping) else None
        if isinstance(via, Mapping) and via.get("slug") == app_slug:
            return True
    return False


def is_watchkeeper_branch(branch: str | None) -> bool:
    """Branches Watchkeeper creates (postmortem pull requests): runs on them are ours."""
    return branch is not None and branch.startswith(BRANCH_PREFIX)
