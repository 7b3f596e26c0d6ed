"""watchkeeper.evidence.freeze, pure: commands, triggers, checks and decisions."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from tests.evidence_support import pull_request
from tests.support import REPO

from watchkeeper.actions import Comment, UpdateIssueSections
from watchkeeper.evidence.commands import FreezeCommand, parse_command
from watchkeeper.evidence.facts import PullFacts, pull_event
from watchkeeper.evidence.freeze import (
    PublishFreezeCheck,
    check_for,
    decide_lift,
    decide_pull,
    decide_start,
    freeze_item,
    published,
    sync,
)
from watchkeeper.record import Incident, incident_from_json, incident_to_json
from watchkeeper.runbook.config import default_config, load_config

CONFIG = default_config()
T0 = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
NOW = T0 + timedelta(hours=1)


def incident(id_: str = "INC-2026-0001", number: int = 1, **changes: object) -> Incident:
    base = Incident(id=id_, fingerprint=f"fp-{id_}", repo=REPO, tracker_repo=REPO,
                    installation_id=7, severity="critical", status="open", rule="secret_scan",
                    source="workflow_run", title="t", detected_at=T0, recorded_at=T0,
                    issue_number=number)
    return replace(base, **changes)  # type: ignore[arg-type]


def pull(number: int, sha: str, *, title: str = "Feature", branch: str = "feature") -> PullFacts:
    facts = pull_event(pull_request("opened", number=number, title=title, body="",
                                    head_ref=branch, head_sha=sha, at="2026-11-27T09:10:00Z"))
    assert facts is not None
    return facts


@pytest.mark.parametrize(("body", "expected"), [
    ("/freeze", FreezeCommand("freeze")),
    ("Going out now.\n  /FREEZE until rotated ", FreezeCommand("freeze", "until rotated")),
    ("/unfreeze\n/freeze", FreezeCommand("unfreeze")),
    ("```\n/freeze\n```", None),
    ("> /freeze", None),
    ("<!-- /freeze -->", None),
    ("/freezer", None),
    ("please /freeze", None),
])
def test_parse_command(body: str, expected: FreezeCommand | None) -> None:
    assert parse_command(body) == expected


def test_the_freeze_item_is_found_by_key_or_text() -> None:
    assert freeze_item(CONFIG) == ("freeze_deployments",
                                   "Freeze risky deployments if incident is active in production.")
    custom = load_config(None, "checklist:\n  - key: now\n    title: Now\n    items:\n"
                               "      - key: stop_ship\n        text: Freeze the release train\n")
    assert freeze_item(custom) == ("stop_ship", "Freeze the release train")


def test_sync_starts_once_and_lifts_at_containment_or_closure() -> None:
    ticked = incident(checklist_done=("freeze_deployments",))
    assert sync(incident(), CONFIG) is None
    assert sync(ticked, CONFIG) == ("start", "the checklist's freeze item was ticked")
    configured = replace(CONFIG, freeze_severities=("critical",))
    assert sync(incident(), configured) == (
        "start", "the configuration freezes deployments for critical incidents")
    assert sync(incident(severity="high"), configured) is None
    started = decide_start(ticked, reason="r", actor="watchkeeper", at=NOW, config=CONFIG,
                           now=NOW, branch="master", pulls=()).incident
    assert started is not None and started.freeze.active and started.done("freeze:checklist")
    assert sync(started, CONFIG) is None
    contained = started.replace(milestones=(("contained", NOW),))
    assert sync(contained, CONFIG) == ("lift", "the incident was contained")
    assert sync(started.replace(status="closed"), CONFIG) == ("lift", "the incident was closed")
    lifted = decide_lift(contained, reason="x", actor="watchkeeper", at=NOW, config=CONFIG,
                         now=NOW, pulls=()).incident
    assert lifted is not None and not lifted.freeze.active
    assert sync(lifted, CONFIG) is None  # ticked and contained, but acted on already


def test_checks_name_every_blocking_incident_and_let_the_fix_through() -> None:
    a = incident(freeze=replace(incident().freeze, active=True))
    b = incident("INC-2026-0002", 5, freeze=replace(incident().freeze, active=True))
    assert check_for(pull(2, "a" * 40), [a, b])[:2] == (
        "failure", "Deployment freeze: incident INC-2026-0001")
    assert "INC-2026-0001 (octo-org/octo-repo#1), INC-2026-0002 (octo-org/octo-repo#5)" in \
        check_for(pull(2, "a" * 40), [a, b])[2]
    fix_a = pull(3, "b" * 40, title="Fix INC-2026-0001")
    assert check_for(fix_a, [a])[0] == "success"
    assert check_for(fix_a, [a, b])[:2] == ("failure", "Deployment freeze: incident INC-2026-0002")
    assert check_for(fix_a, [])[0] == "neutral"


def test_start_publishes_on_open_pull_requests_and_lift_respects_other_freezes() -> None:
    pulls = [pull(2, "a" * 40), pull(3, "b" * 40, branch="inc-2026-0001")]
    decision = decide_start(incident(), reason="/freeze by alice", actor="alice", at=NOW,
                            config=CONFIG, now=NOW, branch="master", pulls=pulls)
    frozen = decision.incident
    assert frozen is not None and frozen.freeze.by == "alice"
    kinds = [type(a) for a in decision.actions]
    assert kinds == [UpdateIssueSections, PublishFreezeCheck, PublishFreezeCheck, Comment]
    checks = [a for a in decision.actions if isinstance(a, PublishFreezeCheck)]
    assert [(c.pr, c.sha, c.conclusion) for c in checks] == [
        (2, "a" * 40, "failure"), (3, "b" * 40, "success")]
    assert decide_start(frozen, reason="again", actor="alice", at=NOW, config=CONFIG, now=NOW,
                        branch="master", pulls=pulls).actions == ()
    done = published(published(frozen, checks[0], 11), checks[1], 12)
    assert [(c.sha, c.check_run_id, c.conclusion) for c in done.freeze.checks] == [
        ("a" * 40, 11, "failure"), ("b" * 40, 12, "success")]

    other = incident("INC-2026-0002", 5, freeze=replace(incident().freeze, active=True))
    lifted = decide_lift(done, reason="/unfreeze by alice", actor="alice", at=NOW,
                         config=CONFIG, now=NOW, pulls=pulls[:1], others=[other])
    updates = [a for a in lifted.actions if isinstance(a, PublishFreezeCheck)]
    # #3 was closed meanwhile; #2 stays blocked, now by the other incident.
    assert [(c.pr, c.conclusion, c.title) for c in updates] == [
        (2, "failure", "Deployment freeze: incident INC-2026-0002")]
    comment = lifted.actions[-1]
    assert isinstance(comment, Comment)
    assert "INC-2026-0002 still freezes this repository" in comment.body


def test_new_pull_requests_are_checked_by_the_first_freezing_incident() -> None:
    a = incident(freeze=replace(incident().freeze, active=True))
    b = incident("INC-2026-0002", 5, freeze=replace(incident().freeze, active=True))
    decided = decide_pull([a, b], pull(7, "c" * 40))
    assert [before.id for before, _ in decided] == ["INC-2026-0001", "INC-2026-0002"]
    assert [len(d.actions) for _, d in decided] == [1, 0]
    assert all(d.incident and d.incident.freeze.checks[0].sha == "c" * 40 for _, d in decided)
    to_other_base = pull_event(pull_request("opened", number=8, title="x", body="",
                                            head_ref="y", head_sha="d" * 40,
                                            at="2026-11-27T09:10:00Z", base_ref="release"))
    assert to_other_base is not None and decide_pull([a], to_other_base) == []


def test_the_freeze_state_round_trips_through_the_store_format() -> None:
    decided = decide_start(incident(), reason="r", actor="alice", at=NOW, config=CONFIG,
                           now=NOW, branch="master", pulls=[pull(2, "a" * 40)]).incident
    assert decided is not None
    action = PublishFreezeCheck(decided.id, REPO, 2, "a" * 40, "failure", "t", "s")
    stored = published(decided, action, 77)
    assert incident_from_json(incident_to_json(stored)) == stored
