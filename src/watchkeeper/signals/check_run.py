"""check_run.completed -> a detection (failed check) or recovery (passing check).

Code scanning reports through checks such as "CodeQL" (apps github-advanced-security,
github-code-scanning); which checks matter is the policy's call.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from watchkeeper.routing import Router
from watchkeeper.signals.model import Signal
from watchkeeper.signals.payload import (
    conclusion_kind,
    facts,
    first_time,
    installation_id,
    number,
    opt_number,
    opt_section,
    opt_text,
    repository,
    section,
    sender_login,
    text,
)

EVENT = "check_run"
_WORDS = {"success": "passed", "failure": "failed", "timed_out": "timed out"}


def parse(payload: Mapping[str, Any], *, received_at: datetime | None = None) -> Signal | None:
    if payload.get("action") != "completed":
        return None
    check = section(payload, "check_run")
    conclusion = opt_text(check, "conclusion")
    kind = conclusion_kind(conclusion)
    if kind is None:
        return None
    name = text(check, "name")
    check_id = number(check, "id")
    app = opt_section(check, "app")
    suite = opt_section(check, "check_suite")
    branch = opt_text(suite, "head_branch")
    word = _WORDS.get(str(conclusion), str(conclusion).replace("_", " "))
    return Signal(
        kind=kind,
        source="check_run",
        repo=repository(payload),
        subject=name,
        event_key=f"check_run:{check_id}:{conclusion}",
        occurred_at=first_time(check, ("completed_at",), received_at,
                               last_resort=("started_at",)),
        title=f"Check {name} {word}" + (f" on {branch}" if branch else ""),
        installation_id=installation_id(payload),
        branch=branch,
        commit_sha=opt_text(check, "head_sha") or opt_text(suite, "head_sha"),
        url=opt_text(check, "html_url"),
        state=conclusion,
        facts=facts(
            check_name=name,
            check_run_id=check_id,
            check_suite_id=opt_number(suite, "id"),
            app_slug=opt_text(app, "slug"),
            app_name=opt_text(app, "name"),
        ),
        sender=sender_login(payload),
    )


router = Router()
router.register(EVENT, parse, actions=("completed",))
