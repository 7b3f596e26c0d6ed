"""Evidence and containment: what happened around an incident, collected as it happens.

Pull requests that reference the incident, workflow runs on them, deployments that carry a
fix, alert state changes and the deployment freeze become Evidence items and timeline
entries on the record, with commit SHAs, run IDs and deployment IDs kept as identifiers so a
postmortem can cite them. Everything here is pure: the feature shells (features/evidence.py,
features/freeze.py) fetch facts from GitHub and apply the decisions.

For the postmortem: `fix_candidates(incident)`, `fix_deployments(incident)` and
`containment_evidence(incident)` (records.py) list the structured items.
"""

from __future__ import annotations

from watchkeeper.evidence.records import (
    containment_evidence,
    fix_candidates,
    fix_deployments,
    identifier,
    linked_pulls,
)

__all__ = [
    "containment_evidence",
    "fix_candidates",
    "fix_deployments",
    "identifier",
    "linked_pulls",
]
