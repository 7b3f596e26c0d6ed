"""The deployment freeze: a failing `watchkeeper/freeze` check run on open pull requests.

The runbook's "freeze risky deployments" step, made enforceable: while an incident holds a
freeze, every open pull request to the affected repository's default branch (and every new
one) carries a failing check naming the incident, so branch protection can block merges;
pull requests that reference the incident (the fix) pass. A freeze starts when the
checklist's freeze item is ticked, `/freeze` is run, or the config's `freeze.severities`
lists the incident's severity; `/unfreeze`, containment or closure lifts it and the checks
turn neutral (or stay failing when another incident still freezes the repository).

One check run per commit: whichever incident publishes it computes its conclusion from every
active freeze in the repository, so concurrent incidents never unblock each other's merges.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Literal

from watchkeeper.actions import Comment
from watchkeeper.evidence.facts import PullFacts
from watchkeeper.evidence.pulls import is_linked
from watchkeeper.evidence.records import with_entry
from watchkeeper.incident import Decision, update_sections
from watchkeeper.record import FreezeState, FrozenCheck, Incident, TimelineEntry
from watchkeeper.render.checklist import iter_items
from watchkeeper.render.escape import code, neutralise
from watchkeeper.runbook.model import Config

FREEZE_CHECK = "watchkeeper/freeze"
FREEZE_ITEM = "freeze_deployments"
WRITE_ROLES = frozenset({"admin", "maintain", "write"})
MAX_PULLS = 100  # pull requests checked when a freeze starts or lifts
ACTOR = "watchkeeper"

Change = Literal["start", "lift"]


@dataclass(frozen=True, slots=True)
class PublishFreezeCheck:
    """Create or update the freeze check run on a pull request's head commit."""

    incident_id: str
    repo: str
    pr: int
    sha: str
    conclusion: str  # failure | success | neutral
    title: str
    summary: str


# --- when a freeze starts or lifts ---------------------------------------------------


def freeze_item(config: Config) -> tuple[str, str] | None:
    """(key, text) of the checklist's freeze item ("Freeze risky deployments ...")."""
    items = [item for _, item in iter_items(config.checklist)]
    found = next((i for i in items if i.key == FREEZE_ITEM), None) or next(
        (i for i in items if "freeze" in i.text.lower()), None)
    return (found.key, found.text) if found else None


def _triggers(incident: Incident, config: Config) -> list[tuple[str, str]]:
    """(done key, reason) of every freeze trigger that holds now."""
    found: list[tuple[str, str]] = []
    item = freeze_item(config)
    if item is not None and item[0] in incident.checklist_done:
        found.append(("freeze:checklist", "the checklist's freeze item was ticked"))
    if incident.severity in config.freeze_severities:
        found.append((f"freeze:severity:{incident.severity}",
                      f"the configuration freezes deployments for {incident.severity} "
                      "incidents"))
    return found


def severity_checked_key(incident: Incident) -> str:
    """Done once the incident's severity was compared with `freeze.severities`."""
    return f"freeze:severity-checked:{incident.severity}"


def sync(incident: Incident, config: Config) -> tuple[Change, str] | None:
    """What the record asks of the freeze now: start (a trigger not acted on yet), lift
    (closed, or newly contained), or nothing."""
    active = incident.freeze.active
    if incident.status == "closed":
        return ("lift", "the incident was closed") if active else None
    contained = incident.milestone("contained") is not None
    if active:
        if contained and not incident.done("unfreeze:contained"):
            return "lift", "the incident was contained"
        return None
    if contained:
        return None
    for key, reason in _triggers(incident, config):
        if not incident.done(key):
            return "start", reason
    return None


def _consume(incident: Incident, config: Config) -> Incident:
    """Mark every trigger that holds as acted on, so a lifted freeze does not restart."""
    keys = [key for key, _ in _triggers(incident, config)] + [severity_checked_key(incident)]
    if incident.milestone("contained") is not None:
        keys.append("unfreeze:contained")
    return incident.with_done(*keys)


# --- checks ---------------------------------------------------------------------------


def _name(incident: Incident) -> str:
    where = f" ({incident.tracker_repo}#{incident.issue_number})" if incident.issue_number \
        else ""
    return f"{incident.id}{where}"


def check_for(pull: PullFacts, freezing: Sequence[Incident]) -> tuple[str, str, str]:
    """(conclusion, title, summary) of the freeze check for a pull request, given every
    incident freezing its repository."""
    if not freezing:
        return ("neutral", "No deployment freeze",
                "No security incident freezes merges to this repository any more.")
    blocking = [i for i in freezing if not is_linked(i, pull)]
    names = ", ".join(_name(i) for i in (blocking or freezing))
    if not blocking:
        return ("success", f"Fix for incident {freezing[0].id}: allowed during the freeze",
                f"This pull request references security incident {names}, so the deployment "
                "freeze lets it through.")
    return ("failure", f"Deployment freeze: incident {blocking[0].id}",
            f"Merges to the default branch are frozen while security incident {names} is "
            "being handled. Pull requests that reference the incident (its fix) pass. The "
            "freeze lifts with `/unfreeze` on the incident issue, at containment, or when "
            "the incident is closed.")


def _action(owner: Incident, pull: PullFacts, freezing: Sequence[Incident]
            ) -> PublishFreezeCheck | None:
    if pull.head_sha is None:
        return None
    conclusion, title, summary = check_for(pull, freezing)
    return PublishFreezeCheck(owner.id, pull.repo, pull.number, pull.head_sha, conclusion,
                              title, summary)


def with_check(incident: Incident, pull: PullFacts) -> Incident:
    """The incident remembering the pull request's head commit as carrying its check."""
    if pull.head_sha is None or any(c.repo == pull.repo and c.sha == pull.head_sha
                                    for c in incident.freeze.checks):
        return incident
    check = FrozenCheck(pull.repo, pull.number, pull.head_sha)
    return incident.replace(freeze=replace(incident.freeze,
                                           checks=(*incident.freeze.checks, check)))


def published(incident: Incident, action: PublishFreezeCheck, check_run_id: int) -> Incident:
    """The record after the executor published the check (its ID and conclusion)."""
    check = FrozenCheck(action.repo, action.pr, action.sha, check_run_id, action.conclusion)
    rest = tuple(c for c in incident.freeze.checks
                 if not (c.repo == action.repo and c.sha == action.sha))
    return incident.replace(freeze=replace(incident.freeze, checks=(*rest, check)))


def known_check_run(incident: Incident, repo: str, sha: str) -> int | None:
    return next((c.check_run_id for c in incident.freeze.checks
                 if c.repo == repo and c.sha == sha and c.check_run_id), None)


def affects(incident: Incident, pull: PullFacts) -> bool:
    """The pull request targets the default branch of the repository the incident froze."""
    return (incident.freeze.active and incident.repo.lower() == pull.repo.lower()
            and (pull.default_branch is None or pull.base_ref == pull.default_branch))


# --- decisions ------------------------------------------------------------------------


def _count(incident: Incident, prefix: str) -> int:
    return sum(1 for e in incident.timeline if (e.key or "").startswith(prefix))


def decide_start(incident: Incident, *, reason: str, actor: str, at: datetime, config: Config,
                 now: datetime, branch: str, pulls: Sequence[PullFacts],
                 others: Sequence[Incident] = ()) -> Decision:
    """Start the freeze: record it and publish failing checks on the open pull requests
    (`pulls`, those to `branch`); `others` are the other incidents freezing the repo."""
    if incident.freeze.active or incident.status == "closed":
        return Decision(incident, ())
    n = _count(incident, "freeze:start:") + 1
    frozen = incident.replace(freeze=FreezeState(active=True, reason=reason, by=actor, since=at,
                                                 checks=incident.freeze.checks))
    frozen = _consume(frozen, config)
    targets = [p for p in pulls if p.head_sha][:MAX_PULLS]
    for pull in targets:
        frozen = with_check(frozen, pull)
    text = (f"Deployment freeze started ({reason}): merges to {branch} in {incident.repo} are "
            f"blocked by the {FREEZE_CHECK} check on {len(targets)} open pull request(s); "
            "pull requests that reference the incident pass")
    frozen = with_entry(frozen, TimelineEntry(at, actor, "freeze", text,
                                              key=f"freeze:start:{n}",
                                              data=(("state", "active"), ("reason", reason))))
    freezing = [*others, frozen]
    checks = [a for p in targets if (a := _action(frozen, p, freezing)) is not None]
    body = (f"**Deployment freeze in effect** ({neutralise(reason, max_len=200)}). "
            f"{len(targets)} open pull request(s) to {code(branch, max_len=100)} in "
            f"{code(incident.repo, max_len=200)} now carry a failing {code(FREEZE_CHECK)} check, "
            "and so will new ones; pull requests that reference this incident pass.\n\n"
            f"For the check to block merges, make {code(FREEZE_CHECK)} a required status check "
            f"in the branch protection (or ruleset) of {code(branch, max_len=100)}. Comment "
            "`/unfreeze` to lift the freeze; containment or closing the incident lifts it too.")
    actions: list[Any] = [
        update_sections(frozen, config, now, "timeline"), *checks,
        Comment(frozen.id, frozen.tracker_repo, body, key=f"freeze:start:{n}")]
    return Decision(frozen, tuple(actions))


def decide_lift(incident: Incident, *, reason: str, actor: str, at: datetime, config: Config,
                now: datetime, pulls: Sequence[PullFacts], others: Sequence[Incident] = ()
                ) -> Decision:
    """Lift the freeze: the incident's checks on still-open pull requests turn neutral (or
    stay failing for another incident's freeze, naming it)."""
    if not incident.freeze.active:
        return Decision(incident, ())
    n = _count(incident, "freeze:lift:") + 1
    lifted = incident.replace(freeze=replace(incident.freeze, active=False, reason=reason,
                                             lifted_at=at))
    lifted = _consume(lifted, config)
    open_pulls = {(p.repo.lower(), p.number): p for p in pulls}
    checks: list[PublishFreezeCheck] = []
    for check in incident.freeze.checks:
        pull = open_pulls.get((check.repo.lower(), check.pr))
        if pull is None or pull.head_sha != check.sha:
            continue
        action = _action(lifted, pull, [o for o in others if affects(o, pull)])
        if action is not None:
            checks.append(action)
    text = f"Deployment freeze lifted ({reason})"
    if checks:
        text += f": the {FREEZE_CHECK} check updated on {len(checks)} open pull request(s)"
    lifted = with_entry(lifted, TimelineEntry(at, actor, "freeze", text, key=f"freeze:lift:{n}",
                                              data=(("state", "lifted"), ("reason", reason))))
    still = [o for o in others if o.freeze.active and o.repo.lower() == incident.repo.lower()]
    tail = (f" Incident {neutralise(still[0].id, max_len=64)} still freezes this repository."
            if still else "")
    body = f"**Deployment freeze lifted** ({neutralise(reason, max_len=200)}).{tail}"
    actions: list[Any] = [
        update_sections(lifted, config, now, "timeline"), *checks,
        Comment(lifted.id, lifted.tracker_repo, body, key=f"freeze:lift:{n}")]
    return Decision(lifted, tuple(actions))


def decide_pull(freezing: Sequence[Incident], pull: PullFacts
                ) -> list[tuple[Incident, Decision]]:
    """A new or changed pull request while incidents freeze its repository: (incident,
    decision) for each that does; each records the commit, the first publishes the check
    (its conclusion computed from all of them)."""
    relevant = [i for i in freezing if affects(i, pull)]
    if not relevant or pull.head_sha is None or pull.state != "open":
        return []
    decisions: list[tuple[Incident, Decision]] = []
    for index, incident in enumerate(relevant):
        updated = with_check(incident, pull)
        action = _action(incident, pull, relevant) if index == 0 else None
        actions: tuple[Any, ...] = (action,) if action else ()
        decisions.append((incident, Decision(updated, actions)))
    return decisions
