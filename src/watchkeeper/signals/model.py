"""The normalised signal every parser produces and every decision consumes.

A Signal holds facts read from one webhook payload, never opinions: whether it
opens an incident, and at which severity, is the policy's call (runbook/policy.py).
Text fields are untrusted and raw; rendering escapes them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

SignalKind = Literal[
    "detection",  # something failed or an alert opened: may open or join an incident
    "recovery",  # the same thing passed again / the alert was fixed or dismissed
    "alert_state",  # other alert state changes worth a timeline entry
]

SourceKind = Literal[
    "workflow_run",
    "check_run",
    "code_scanning_alert",
    "secret_scanning_alert",
    "dependabot_alert",
    "alarm",  # a production alarm: repository_dispatch or the Alertmanager receiver
]


@dataclass(frozen=True, slots=True)
class RepoRef:
    """A repository as the payload describes it."""

    owner: str
    name: str
    private: bool = True
    default_branch: str = "main"
    id: int | None = None

    @property
    def full_name(self) -> str:
        return f"{self.owner}/{self.name}"


@dataclass(frozen=True, slots=True)
class Signal:
    """One security-relevant fact from a webhook, normalised across sources."""

    kind: SignalKind
    source: SourceKind
    repo: RepoRef
    # What failed inside the repository: workflow path, check name, alert number,
    # advisory GHSA id. Together with repo, rule and branch it forms the fingerprint.
    subject: str
    # Replay identity: the event's own identity, e.g. "workflow_run:<id>:<attempt>:<conclusion>".
    event_key: str
    # The signal's own time (run completion, alert creation), timezone-aware UTC.
    occurred_at: datetime
    title: str
    installation_id: int | None = None
    branch: str | None = None
    commit_sha: str | None = None
    url: str | None = None
    # Source-specific state: a run/check conclusion or an alert state/action.
    state: str | None = None
    # Facts the policy and rendering read: workflow_name, workflow_path, check_name,
    # app_slug, rule_id, rule_severity, security_severity_level, advisory_severity,
    # ghsa_id, cve_id, package, manifest_path, secret_type, resolution, validity,
    # run_id, run_attempt, alert_number, tool_name, ... (strings, untrusted).
    facts: Mapping[str, str] = field(default_factory=dict)
    sender: str | None = None
