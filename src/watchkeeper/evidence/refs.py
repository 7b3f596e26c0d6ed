"""Does a pull request reference an incident? Read from its title, body and branch name.

Accepted: the incident issue as `#N` (same repository), `owner/name#N` (any repository,
the way to reference incidents kept in a separate repository), `GH-N`, the issue's URL, the
incident ID (`INC-2026-0001`, also inside a branch name), and GitHub's branch names for an
issue (`12-short-title`, `fix/issue-12`). Closing keywords ("fixes #12") are references
too; they are reported separately because merging such a pull request closes the issue.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from watchkeeper.evidence.facts import PullFacts
from watchkeeper.record import Incident

_CLOSING = r"(?:close[sd]?|fix(?:e[sd])?|resolve[sd]?)\s*:?\s+"


def _issue_patterns(incident: Incident, repo: str) -> list[str]:
    n = incident.issue_number
    if n is None:
        return []
    tracker = re.escape(incident.tracker_repo)
    found = [rf"(?<![\w.-]){tracker}#{n}(?!\d)",
             rf"https?://[^\s/]+/{tracker}/issues/{n}(?![\d])"]
    if incident.tracker_repo.lower() == repo.lower():
        found += [rf"(?<![\w/#&])#{n}(?!\d)", rf"(?<!\w)GH-{n}(?!\d)"]
    return found


def _id_pattern(incident: Incident) -> str:
    return rf"(?<![A-Za-z0-9]){re.escape(incident.id)}(?![A-Za-z0-9])"


def _branch_patterns(incident: Incident, repo: str) -> list[str]:
    found = [_id_pattern(incident)]
    n = incident.issue_number
    if n is not None and incident.tracker_repo.lower() == repo.lower():
        found += [rf"^(?:[^/]*/)?{n}-",  # GitHub's "create a branch" for an issue
                  rf"(?:^|[/_-])(?:issue|incident|inc|gh)[-_]?{n}(?:$|[/_.-])"]
    return found


def _search(patterns: Iterable[str], texts: Iterable[str]) -> bool:
    return any(re.search(p, t, flags=re.IGNORECASE) for p in patterns for t in texts if t)


def references(incident: Incident, pull: PullFacts) -> bool:
    """True when the pull request's title, body or head branch names the incident."""
    if not incident.id:
        return False
    text_patterns = [*_issue_patterns(incident, pull.repo), _id_pattern(incident)]
    if _search(text_patterns, pull.texts()):
        return True
    return _search(_branch_patterns(incident, pull.repo), [pull.head_ref or ""])


def closes(incident: Incident, pull: PullFacts) -> bool:
    """True when a closing keyword ("fixes #12") points at the incident issue: merging
    the pull request then closes the issue on GitHub."""
    patterns = [_CLOSING + p for p in _issue_patterns(incident, pull.repo)]
    return _search(patterns, pull.texts())
