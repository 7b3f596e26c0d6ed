"""workflow_run.completed -> a detection (failed run) or recovery (successful run).

Which workflows matter (secret scans, CodeQL) is the policy's call; the parser only
normalises. `workflow_run.name` can be empty in real payloads, so the name falls
back to `workflow.name`, then to the workflow file path.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from watchkeeper.routing import Router
from watchkeeper.signals.model import Signal
from watchkeeper.signals.payload import (
    MalformedPayload,
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
)

EVENT = "workflow_run"
_WORDS = {"success": "succeeded", "failure": "failed", "timed_out": "timed out"}


def parse(payload: Mapping[str, Any], *, received_at: datetime | None = None) -> Signal | None:
    if payload.get("action") != "completed":
        return None
    run = section(payload, "workflow_run")
    conclusion = opt_text(run, "conclusion")
    kind = conclusion_kind(conclusion)
    if kind is None:
        return None
    workflow = opt_section(payload, "workflow")
    path = opt_text(run, "path") or opt_text(workflow, "path")
    name = opt_text(run, "name") or opt_text(workflow, "name") or path
    if name is None:
        raise MalformedPayload("workflow_run has neither a name nor a path")
    run_id = number(run, "id")
    attempt = opt_number(run, "run_attempt") or 1
    branch = opt_text(run, "head_branch")
    word = _WORDS.get(str(conclusion), str(conclusion).replace("_", " "))
    return Signal(
        kind=kind,
        source="workflow_run",
        repo=repository(payload),
        subject=path or name,
        event_key=f"workflow_run:{run_id}:{attempt}:{conclusion}",
        occurred_at=first_time(run, ("updated_at",), received_at,
                               last_resort=("run_started_at", "created_at")),
        title=f"Workflow {name} {word}" + (f" on {branch}" if branch else ""),
        installation_id=installation_id(payload),
        branch=branch,
        commit_sha=opt_text(run, "head_sha"),
        url=opt_text(run, "html_url"),
        state=conclusion,
        facts=facts(
            workflow_name=name,
            workflow_path=path,
            workflow_id=opt_number(run, "workflow_id") or opt_number(workflow, "id"),
            run_id=run_id,
            run_attempt=attempt,
            run_number=opt_number(run, "run_number"),
            trigger_event=opt_text(run, "event"),
            display_title=opt_text(run, "display_title"),
            head_repository=opt_text(opt_section(run, "head_repository"), "full_name"),
            actor=opt_text(opt_section(run, "actor"), "login"),
        ),
        sender=sender_login(payload),
    )


router = Router()
router.register(EVENT, parse, actions=("completed",))
