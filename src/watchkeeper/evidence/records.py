"""Reading and updating the record's evidence and timeline, deduplicated by key.

An Evidence item is kept current under one key (a pull request's later states replace its
earlier ones, keeping the time it was first linked); a timeline entry is added once per key.
The query functions are what a postmortem cites: merged pull requests (fix candidates with
their merge commits), deployments that carried a fix, containment evidence.
"""

from __future__ import annotations

from dataclasses import replace

from watchkeeper.record import Evidence, Incident, TimelineEntry

ACTOR = "watchkeeper"


def identifier(item: Evidence, name: str) -> str | None:
    """The item's identifier of that name ("head_sha", "merge_sha", "run_id", ...)."""
    return next((value for key, value in item.identifiers if key == name), None)


def find_evidence(incident: Incident, key: str) -> Evidence | None:
    return next((item for item in incident.evidence if item.key == key), None)


def with_evidence(incident: Incident, item: Evidence) -> Incident:
    """The incident with `item` added, or replacing the item of the same key in place (its
    first-seen time is kept, so the Evidence section keeps its order)."""
    old = find_evidence(incident, item.key)
    if old is None:
        return incident.replace(evidence=(*incident.evidence, item))
    new = replace(item, at=old.at or item.at)
    if new == old:
        return incident
    return incident.replace(evidence=tuple(new if e.key == item.key else e
                                           for e in incident.evidence))


def has_entry(incident: Incident, key: str) -> bool:
    return any(entry.key == key for entry in incident.timeline)


def with_entry(incident: Incident, entry: TimelineEntry) -> Incident:
    """The incident with the timeline entry added, unless one with its key exists."""
    if entry.key is not None and has_entry(incident, entry.key):
        return incident
    return incident.replace(timeline=(*incident.timeline, entry))


def linked_pulls(incident: Incident) -> list[Evidence]:
    """Pull requests linked to the incident, in the order they were linked."""
    return [item for item in incident.evidence if item.kind == "pull_request"]


def linked_commits(incident: Incident) -> dict[str, Evidence]:
    """Head and merge commit SHA of every linked pull request -> its evidence."""
    found: dict[str, Evidence] = {}
    for item in linked_pulls(incident):
        for name in ("head_sha", "merge_sha"):
            sha = identifier(item, name)
            if sha:
                found.setdefault(sha, item)
    return found


def linked_branches(incident: Incident) -> dict[str, Evidence]:
    """Head branches of linked pull requests from the same repository -> their evidence."""
    return {branch: item for item in linked_pulls(incident)
            if (branch := identifier(item, "branch")) and identifier(item, "head_repo") is None}


def fix_candidates(incident: Incident) -> list[Evidence]:
    """Merged linked pull requests: identifiers pr, author, state, branch, head_sha,
    merge_sha."""
    return [item for item in linked_pulls(incident) if identifier(item, "state") == "merged"]


def fix_commits(incident: Incident) -> dict[str, Evidence]:
    """Merge and head commits of fix candidates -> their pull request's evidence."""
    found: dict[str, Evidence] = {}
    for item in fix_candidates(incident):
        for name in ("merge_sha", "head_sha"):
            sha = identifier(item, name)
            if sha:
                found.setdefault(sha, item)
    return found


def deployments(incident: Incident) -> list[Evidence]:
    """Deployments that carried a fix, whatever their outcome: identifiers deployment_id,
    environment, sha, state, fix (the pull request)."""
    return [item for item in incident.evidence
            if item.kind == "deployment" and identifier(item, "fix") is not None]


def fix_deployments(incident: Incident) -> list[Evidence]:
    """Successful deployments that carried a fix ("fix deployed")."""
    return [item for item in deployments(incident) if identifier(item, "state") == "success"]


def containment_evidence(incident: Incident) -> list[Evidence]:
    """Evidence that containment happened (a secret revoked or confirmed inactive)."""
    return [item for item in incident.evidence if identifier(item, "containment")]
