"""Pull requests that reference an incident: linked as evidence and kept current.

The first reference links the pull request (Evidence under `pr:<repo>#<n>`, a timeline
entry); later events refresh the same item (title, state, head SHA) whether or not the text
still names the incident. A merge makes it a fix candidate: state "merged" and the merge
commit SHA, with a timeline entry, so the deployment that carries it can be recognised.
"""

from __future__ import annotations

from datetime import datetime

from watchkeeper.evidence.facts import PullFacts
from watchkeeper.evidence.records import ACTOR, find_evidence, with_entry, with_evidence
from watchkeeper.evidence.refs import closes, references
from watchkeeper.incident import Decision, update_sections
from watchkeeper.record import Evidence, Incident, TimelineEntry
from watchkeeper.runbook.model import Config
from watchkeeper.signals.origin import is_watchkeeper_branch


def is_linked(incident: Incident, pull: PullFacts) -> bool:
    """Linked already, or referencing the incident now (never Watchkeeper's own branches)."""
    if is_watchkeeper_branch(pull.head_ref):
        return False
    return find_evidence(incident, pull.key) is not None or references(incident, pull)


def pull_label(incident: Incident, pull: PullFacts) -> str:
    """"pull request #4", or "pull request owner/name#4" across repositories."""
    same = pull.repo.lower() == incident.tracker_repo.lower()
    return f"pull request #{pull.number}" if same else f"pull request {pull.ref}"


def pull_evidence(pull: PullFacts) -> Evidence:
    ids = [("pr", pull.ref)]
    if pull.author:
        ids.append(("author", pull.author))
    ids.append(("state", pull.state))
    if pull.head_ref:
        ids.append(("branch", pull.head_ref))
    if pull.head_repo:
        ids.append(("head_repo", pull.head_repo))
    if pull.head_sha:
        ids.append(("head_sha", pull.head_sha))
    if pull.merge_sha:
        ids.append(("merge_sha", pull.merge_sha))
    return Evidence(key=pull.key, kind="pull_request", title=pull.title or pull.ref,
                    url=pull.url, identifiers=tuple(ids), at=pull.at)


def _entries(incident: Incident, pull: PullFacts, newly: bool) -> list[TimelineEntry]:
    label = pull_label(incident, pull)
    actor = pull.sender or pull.author or ACTOR
    stamp = pull.at.isoformat()
    entries: list[TimelineEntry] = []
    if newly:
        how = (f"opened by {pull.author or 'unknown'}" if pull.action == "opened"
               else f"by {pull.author or 'unknown'} now references the incident")
        note = " (merging it closes the incident issue on GitHub)" if closes(incident, pull) \
            else ""
        entries.append(TimelineEntry(pull.at, actor, "evidence",
                                     f"{label.capitalize()} {how}: {pull.title}{note}",
                                     url=pull.url, key=f"{pull.key}:linked"))
    if pull.state == "merged":
        sha = (pull.merge_sha or "unknown")[:12]
        data = (("pr", pull.ref), ("state", "merged"), ("merge_sha", pull.merge_sha or ""),
                ("head_sha", pull.head_sha or ""))
        entries.append(TimelineEntry(pull.at, actor, "evidence",
                                     f"Fix candidate: {label} merged as commit {sha}: "
                                     f"{pull.title}", url=pull.url, key=f"{pull.key}:merged",
                                     data=data))
    elif pull.action == "closed":
        entries.append(TimelineEntry(pull.at, actor, "evidence",
                                     f"{label.capitalize()} closed without merging",
                                     url=pull.url, key=f"{pull.key}:closed:{stamp}"))
    elif pull.action == "reopened" and not newly:
        entries.append(TimelineEntry(pull.at, actor, "evidence",
                                     f"{label.capitalize()} reopened", url=pull.url,
                                     key=f"{pull.key}:reopened:{stamp}"))
    return entries


def decide_pull(incident: Incident, pull: PullFacts, config: Config, now: datetime
                ) -> Decision:
    """Link or refresh the pull request on the incident. Pure."""
    if not is_linked(incident, pull):
        return Decision(incident, ())
    newly = find_evidence(incident, pull.key) is None
    updated = with_evidence(incident, pull_evidence(pull))
    for entry in _entries(incident, pull, newly):
        updated = with_entry(updated, entry)
    if updated == incident:
        return Decision(incident, ())
    return Decision(updated, (update_sections(updated, config, now, "evidence", "timeline"),))
