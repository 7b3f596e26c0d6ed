"""Severity policy: does a detection signal open (or join) an incident, and how severe?

Rules come from config (defaults = the runbook's trigger table) and are tried in
order; the first enabled rule that matches the signal's source, text, conclusion,
branch and severity level wins.
"""

from __future__ import annotations

from collections.abc import Mapping

from watchkeeper.runbook.model import Config, Match, Rule
from watchkeeper.signals.model import Signal
from watchkeeper.signals.origin import is_watchkeeper_branch

# The facts a rule's `match` substrings are looked for in, per source.
MATCH_FACTS: Mapping[str, tuple[str, ...]] = {
    "workflow_run": ("workflow_name", "workflow_path"),
    "check_run": ("check_name", "app_slug"),
    "code_scanning_alert": ("tool_name", "rule_id"),
    "secret_scanning_alert": ("secret_type",),
    "dependabot_alert": ("package", "ghsa_id"),
}
_RUN_SOURCES = frozenset({"workflow_run", "check_run"})


def fingerprint(repo: str, rule: str, subject: str, branch: str | None) -> str:
    """"owner/repo|rule|subject|branch" ("*" when the branch does not matter).

    Readable and stable across deliveries; "%" and "|" inside parts are escaped so two
    different inputs never give the same fingerprint.
    """
    parts = (_escape(repo), _escape(rule), _escape(subject),
             "*" if branch is None else _escape(branch))
    return "|".join(parts)


def _escape(part: str) -> str:
    return part.replace("%", "%25").replace("|", "%7C").replace("*", "%2A")


def payload_level(signal: Signal) -> str | None:
    """The alert's own severity level that a severity_map is keyed on."""
    facts = signal.facts
    if signal.source == "code_scanning_alert":
        return facts.get("security_severity_level") or facts.get("rule_severity")
    if signal.source == "dependabot_alert":
        return facts.get("advisory_severity")
    return None


def _text_matches(rule: Rule, signal: Signal) -> bool:
    if not rule.match:
        return True
    haystack = [signal.facts.get(key, "").lower() for key in MATCH_FACTS.get(rule.source, ())]
    return any(needle in text for needle in rule.match for text in haystack if text)


def _branch_matches(rule: Rule, signal: Signal) -> bool:
    if rule.branches == "any":
        return True
    if signal.branch is None:
        # Alerts without a branch are about the repository as a whole.
        return signal.source not in _RUN_SOURCES
    return signal.branch == signal.repo.default_branch


def _severity(rule: Rule, signal: Signal) -> str | None:
    if rule.severity is not None:
        return rule.severity
    level = (payload_level(signal) or "").lower()
    return dict(rule.severity_map).get(level)


def _matches(rule: Rule, signal: Signal) -> bool:
    if not rule.enabled or rule.source != signal.source:
        return False
    if signal.source in _RUN_SOURCES and signal.state not in rule.conclusions:
        return False
    return _text_matches(rule, signal) and _branch_matches(rule, signal)


def subject_branch(signal: Signal) -> str | None:
    """The branch part of the fingerprint: runs are per branch; an alert is one thing
    whichever branches it appears in (a Dependabot advisory: one per repository)."""
    return signal.branch if signal.source in _RUN_SOURCES else None


def classify(signal: Signal, config: Config) -> Match | None:
    """The incident a detection signal opens or joins, or None when no rule applies.

    Runs on Watchkeeper's own branches (postmortem pull requests) never open one.
    """
    if signal.kind != "detection":
        return None
    if signal.source in _RUN_SOURCES and is_watchkeeper_branch(signal.branch):
        return None
    for rule in config.rules:
        if not _matches(rule, signal):
            continue
        severity = _severity(rule, signal)
        if severity is None:
            continue  # a level the rule does not map: not an incident under this rule
        return Match(
            rule=rule.name,
            severity=severity,
            fingerprint=fingerprint(signal.repo.full_name, rule.name, signal.subject,
                                    subject_branch(signal)),
            tracker_repo=config.incidents_repository or signal.repo.full_name,
        )
    return None


def find_rule_for(rule_name: str, config: Config) -> Rule | None:
    """The configured rule an incident was opened under (None if it was removed)."""
    return next((rule for rule in config.rules if rule.name == rule_name), None)


def related_fingerprints(signal: Signal, config: Config) -> list[str]:
    """Fingerprints of incidents a recovery or alert-state signal may belong to.

    A success, a fixed alert or a validity change opens nothing, but it is news for the
    incident the same workflow (on the same branch) or alert opened. Conclusion and
    severity are ignored here: they only decide whether something opens.
    """
    found: list[str] = []
    for rule in config.rules:
        if rule.source != signal.source or not _text_matches(rule, signal):
            continue
        if not _branch_matches(rule, signal):
            continue
        fp = fingerprint(signal.repo.full_name, rule.name, signal.subject,
                         subject_branch(signal))
        if fp not in found:
            found.append(fp)
    return found
