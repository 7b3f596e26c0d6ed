"""Recognising Watchkeeper's own activity, so that its writes never start a loop.

Its issue edits and comments come back as webhooks from `<slug>[bot]`, and the
postmortem pull requests it opens (branches under `watchkeeper/`) trigger workflows.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

BRANCH_PREFIX = "watchkeeper/"


def is_own_event(payload: Mapping[str, Any], app_slug: str | None) -> bool:
    """True when the event was performed by this app.

    The sender is the trustworthy signal (`<slug>[bot]`, type Bot). A comment's own
    `performed_via_github_app` and a check run's `app` also name the actor of that
    object. An issue's or pull request's `performed_via_github_app` does not: it names
    the app that *created* the issue, and stays there when a person later edits it.
    """
    if not app_slug or not isinstance(payload, Mapping):
        return False
    sender = payload.get("sender")
    if isinstance(sender, Mapping) and sender.get("type") == "Bot" and (
        sender.get("login") == f"{app_slug}[bot]"
    ):
        return True
    comment = payload.get("comment")
    via = comment.get("performed_via_github_app") if isinstance(comment, Mapping) else None
    if isinstance(via, Mapping) and via.get("slug") == app_slug:
        return True
    check_run = payload.get("check_run")
    app = check_run.get("app") if isinstance(check_run, Mapping) else None
    return isinstance(app, Mapping) and app.get("slug") == app_slug


def is_watchkeeper_branch(branch: str | None) -> bool:
    """Branches Watchkeeper creates (postmortem pull requests): runs on them are ours."""
    return branch is not None and branch.startswith(BRANCH_PREFIX)
