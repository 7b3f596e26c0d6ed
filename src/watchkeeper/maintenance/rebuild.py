"""Rebuild the incident records from GitHub after the database was lost.

Every installation's repositories are listed, and in each the issues labelled ``incident``
(listed by label: consistent, unlike search); each issue whose hidden metadata is readable
becomes a record again (render/readback.py says what cannot be recovered). Records already in
the store are left alone, so running it twice, or on a store that lost only part, is safe.
The incident counter is moved past the highest number found, so new incidents never reuse an
ID. Webhook deliveries and replay keys are not on GitHub: they are gone with the database.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from datetime import datetime

from watchkeeper.github.client import GitHubGateway
from watchkeeper.render.readback import LOST, rebuilt_incident
from watchkeeper.store.base import Store

log = logging.getLogger("watchkeeper.rebuild")

INCIDENT_LABEL = "incident"
_NUMBER = re.compile(r"-(\d+)$")


@dataclass
class RebuildReport:
    installations: int = 0
    repositories: int = 0
    issues: int = 0  # labelled issues looked at
    restored: list[str] = field(default_factory=list)  # incident IDs inserted
    present: list[str] = field(default_factory=list)  # already in the store
    unreadable: list[str] = field(default_factory=list)  # "owner/repo#n": no metadata
    conflicts: list[str] = field(default_factory=list)  # another open incident, same failure
    failed: list[str] = field(default_factory=list)  # installations or repositories unread
    counter: int = 0  # the highest incident number now taken
    lost: tuple[str, ...] = LOST


async def rebuild(gateway: GitHubGateway, store: Store, now: datetime, *,
                  dry_run: bool = False) -> RebuildReport:
    report = RebuildReport()
    highest = 0
    async with gateway.session():
        for installation in await gateway.list_installations():
            if installation.suspended:
                continue
            report.installations += 1
            try:
                repos = await gateway.list_installation_repos(installation.id)
            except Exception as exc:  # one installation must not stop the others
                log.warning("cannot list the repositories of installation %s: %s",
                            installation.id, exc)
                report.failed.append(f"installation {installation.id}")
                continue
            for repo in repos:
                report.repositories += 1
                highest = max(highest, await _repository(gateway, store, installation.id,
                                                         str(repo["full_name"]), now, report,
                                                         dry_run))
    if highest and report.restored and not dry_run:
        report.counter = await _raise_counter(store, highest)
    return report


async def _repository(gateway: GitHubGateway, store: Store, installation: int, repo: str,
                      now: datetime, report: RebuildReport, dry_run: bool) -> int:
    """Restore the repository's incidents; returns the highest incident number seen."""
    try:
        issues = await gateway.list_issues_with_label(installation, repo, INCIDENT_LABEL)
    except Exception as exc:
        log.warning("cannot list the incident issues of %s: %s", repo, exc)
        report.failed.append(repo)
        return 0
    highest = 0
    # Oldest first: of two issues for one failure, the first one is the incident.
    for issue in sorted(issues, key=lambda i: i.number):
        report.issues += 1
        found = rebuilt_incident(issue.body, number=issue.number, repo=repo, state=issue.state,
                                 now=now)
        if found is None:
            report.unreadable.append(f"{repo}#{issue.number}")
            continue
        incident = found.incident
        if incident.installation_id is None:
            incident = incident.replace(installation_id=installation)
        if m := _NUMBER.search(incident.id):
            highest = max(highest, int(m.group(1)))
        if await store.get_incident(incident.id) is not None:
            report.present.append(incident.id)
            continue
        if dry_run or await store.insert_incident(incident):
            report.restored.append(incident.id)
            log.info("restored incident %s from %s#%d", incident.id, repo, issue.number)
        else:
            report.conflicts.append(f"{incident.id} ({repo}#{issue.number})")
    return highest


async def _raise_counter(store: Store, highest: int) -> int:
    """Take numbers until the counter reaches ``highest`` (stores only count up, atomically;
    a counter already past it loses one number, a harmless gap)."""
    taken = await store.next_incident_number()
    while taken < highest:
        taken = await store.next_incident_number()
    return taken
