"""Closing decisions, pure and to the minute: the Definition of Done, each step of a close,
false positives, the refused close, and the merged postmortem's follow-ups."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest
from tests.closure_story import CLOSED, COMMIT_TIME, CONFIG, REPO, at, closed_event, worked

from watchkeeper.actions import AddLabels, Comment, EnsureLabels, RemoveLabels, SetIssueState
from watchkeeper.closure import dod
from watchkeeper.closure.actions import CreateFollowUp, PublishPostmortem
from watchkeeper.closure.decide import (
    NEEDS_DOD,
    announce_close,
    announce_merge,
    on_closed,
    on_merged,
    postmortem_step,
    reviewers,
)
from watchkeeper.closure.events import PullMerged, incident_id_from_branch, postmortem_branch
from watchkeeper.incident import UpdateIssueSections
from watchkeeper.notify import Notify
from watchkeeper.record import Incident, TimelineEntry
from watchkeeper.runbook.config import load_config
from watchkeeper.runbook.model import RoleConfig

KEY = "closed:2026-11-28T17:00:00+00:00"


def evaluate(incident: Incident, when=CLOSED, config=CONFIG) -> dict[str, tuple[bool, str]]:
    return {item.key: (item.met, item.detail) for item in dod.evaluate(incident, config, when)}


# --- the Definition of Done ---------------------------------------------------------------


def test_a_worked_incident_meets_everything_but_the_postmortem() -> None:
    assert evaluate(worked()) == {
        "containment_verified": (True, "contained 2026-11-27 11:00 UTC, verified"),
        "fix_deployed": (True, "fix deployed 2026-11-27 15:00 UTC, monitored 24h"),
        "communication_done": (True, "1 update(s), the first 2026-11-27 09:30 UTC"),
        "postmortem_published": (False, "the postmortem is not published yet"),
    }


def test_containment_must_be_marked_and_verified() -> None:
    unverified = worked().replace(checklist_done=("assign_ic", "complete_containment"))
    assert evaluate(unverified)["containment_verified"] == (
        False, "containment is not verified: tick “Validate containment with logs, smoke "
        "tests, and targeted checks.”")
    assert evaluate(worked().replace(milestones=()))["containment_verified"][0] is False
    # Another verification item, configured: that one is required instead.
    config = load_config(None, "closure: {verification_items: [block_sources]}")
    assert evaluate(worked(), config=config)["containment_verified"][0] is False


def test_the_fix_must_be_deployed_and_monitored_for_the_window() -> None:
    deployed = at(hours=6)
    assert evaluate(worked(), deployed + timedelta(hours=23, minutes=59))["fix_deployed"] == (
        False, "the 24h monitoring window is not over (fix deployed 2026-11-27 15:00 UTC; it "
        "ends 2026-11-28 15:00 UTC, 1m from the close)")
    assert evaluate(worked(), deployed + timedelta(hours=24))["fix_deployed"][0] is True
    # A failure after the fix restarts the window.
    relapsed = worked().replace(occurrences=replace(worked().occurrences, count=2,
                                                    last_at=at(hours=20)))
    assert evaluate(relapsed)["fix_deployed"] == (
        False, "the 24h monitoring window is not over (the failure recurred 2026-11-28 05:00 "
        "UTC after the fix; it ends 2026-11-29 05:00 UTC, 12h from the close)")
    # Without a deployment record, the fixed milestone counts; without either, nothing.
    no_deploy = worked().replace(timeline=tuple(e for e in worked().timeline
                                                if e.kind != "deployment"))
    assert evaluate(no_deploy)["fix_deployed"] == (
        True, "fixed milestone 2026-11-27 15:30 UTC, monitored 24h")
    bare = no_deploy.replace(milestones=worked().milestones[:2])
    assert evaluate(bare)["fix_deployed"][0] is False
    no_window = load_config(None, "closure: {monitoring_hours: 0}")
    assert evaluate(worked(), deployed, no_window)["fix_deployed"] == (
        True, "fix deployed 2026-11-27 15:00 UTC")


def test_a_failed_deployment_is_not_a_fix_deployed() -> None:
    failed = worked().replace(timeline=tuple(
        replace(e, data=tuple((k, "failure" if k == "state" else v) for k, v in e.data))
        if e.kind == "deployment" else e for e in worked().timeline))
    assert evaluate(failed)["fix_deployed"][1].startswith("fixed milestone")


def test_communication_by_update_or_by_the_ticked_item() -> None:
    silent = worked().replace(timeline=tuple(e for e in worked().timeline
                                             if e.kind != "status_update"))
    assert evaluate(silent)["communication_done"] == (
        False, "no stakeholder update is recorded: use /status or /customer-update (or tick "
        "“Send first stakeholder update (impact, mitigation status, ETA).”)")
    ticked = silent.replace(checklist_done=(*silent.checklist_done, "stakeholder_update"))
    assert evaluate(ticked)["communication_done"] == (
        True, "ticked “Send first stakeholder update (impact, mitigation status, ETA).”")


def test_the_postmortem_counts_once_merged_and_never_blocks_a_close() -> None:
    merged = worked().replace(closure=replace(worked().closure, postmortem_pr=2,
                                              published_at=at(hours=30)))
    assert evaluate(merged)["postmortem_published"] == (
        True, "postmortem merged 2026-11-28 15:00 UTC")
    items = dod.evaluate(worked(), CONFIG, CLOSED)
    assert dod.blocking(items) == ()


# --- closing --------------------------------------------------------------------------


def test_closing_records_the_close_and_the_evaluation() -> None:
    decision = on_closed(worked(), closed_event(), CONFIG, CLOSED, key=KEY,
                         commit_time=COMMIT_TIME)
    done = decision.incident
    assert done is not None and decision.actions == ()
    assert (done.status, done.closed_at) == ("closed", CLOSED)
    assert (done.closure.reason, done.closure.closed_by, done.closure.commit_time) == (
        "completed", "alice", COMMIT_TIME)
    assert [(e.actor, e.kind, e.text) for e in done.timeline[-2:]] == [
        ("alice", "closed", "Closed as completed"),
        ("watchkeeper", "dod", "Definition of Done: 3 of 4 met; unmet: the postmortem is not "
                               "published yet")]
    assert done.done(KEY)
    # The same close again (a redelivery) changes nothing.
    assert on_closed(done, closed_event(), CONFIG, CLOSED, key=KEY, commit_time=None
                     ).incident == done


def test_the_postmortem_step_targets_the_incident_branch_with_reviewers() -> None:
    done = on_closed(worked(), closed_event(), CONFIG, CLOSED, key=KEY,
                     commit_time=COMMIT_TIME).incident
    assert done is not None
    (action,) = postmortem_step(done, CONFIG, CLOSED, key=KEY).actions
    assert isinstance(action, PublishPostmortem)
    assert (action.repo, action.branch, action.path, action.decision_log) == (
        REPO, "watchkeeper/postmortem-INC-2026-0001",
        "docs/postmortems/2026-11-27-INC-2026-0001.md", "docs/02-planning/decision-log.md")
    assert (action.reviewers, action.team_reviewers) == (("alice", "bob"), ())
    assert action.title == "Postmortem INC-2026-0001: Workflow Secret scan failed on master"
    assert action.message == "Postmortem INC-2026-0001: Workflow Secret scan failed on master"
    assert "Review requested from the Incident Commander and the Security Owner: @alice, " \
           "@bob." in action.body
    assert "(#1, [issue](https://github.com/octo-org/octo-repo/issues/1))" in action.body
    assert action.done_key == f"postmortem:{KEY}"
    assert postmortem_step(done.with_done(action.done_key), CONFIG, CLOSED, key=KEY
                           ).actions == ()
    custom = load_config(None, "closure: {postmortem_dir: security/pm, decision_log: "
                               "security/decisions.md}")
    (other,) = postmortem_step(done, custom, CLOSED, key=KEY).actions
    assert isinstance(other, PublishPostmortem)
    assert (other.path, other.decision_log) == ("security/pm/2026-11-27-INC-2026-0001.md",
                                                 "security/decisions.md")


def test_reviewers_fall_back_to_configured_defaults_and_teams() -> None:
    nobody = worked().replace(roles=())
    config = replace(CONFIG, roles={**CONFIG.roles,
                                    "incident_commander": RoleConfig(default="@octo-org/leads"),
                                    "security_owner": RoleConfig(default="sec-person")})
    assert reviewers(nobody, config) == (("sec-person",), ("leads",))
    assert reviewers(nobody, CONFIG) == ((), ())


def test_announcing_a_close_labels_comments_and_rerenders() -> None:
    done = on_closed(worked(), closed_event(), CONFIG, CLOSED, key=KEY,
                     commit_time=COMMIT_TIME).incident
    assert done is not None
    decision = announce_close(done, CONFIG, CLOSED, key=KEY, before_status="fixed",
                              labels=closed_event().labels)
    remove, ensure, add, comment, update = decision.actions
    assert remove == RemoveLabels(done.id, REPO, ("status:fixed",))
    assert isinstance(ensure, EnsureLabels)
    assert [s.name for s in ensure.labels] == ["status:closed", NEEDS_DOD.name]
    assert add == AddLabels(done.id, REPO, ("status:closed", NEEDS_DOD.name))
    assert isinstance(comment, Comment) and comment.key == f"announced:{KEY}"
    assert comment.body.startswith("**Incident INC-2026-0001 closed** with 1 Definition of "
                                   "Done item(s) unmet")
    assert isinstance(update, UpdateIssueSections)
    dod_section = dict(update.sections)["dod"]
    assert "- ❌ Postmortem published with actionable preventive work and owners. _the " \
           "postmortem is not published yet_" in dod_section
    assert decision.incident is not None and decision.incident.done(f"announced:{KEY}")


def test_a_false_positive_is_recorded_without_a_postmortem() -> None:
    event = closed_event(reason="not_planned",
                         labels=("incident", "status:open", NEEDS_DOD.name))
    done = on_closed(worked(), event, CONFIG, CLOSED, key=KEY, commit_time=None).incident
    assert done is not None and done.status == "closed" and done.closure.dod == ()
    assert (done.timeline[-1].kind, done.timeline[-1].text) == (
        "closed", "Closed as not planned (false positive)")
    assert postmortem_step(done, CONFIG, CLOSED, key=KEY).actions == ()
    decision = announce_close(done, CONFIG, CLOSED, key=KEY, before_status="open",
                              labels=event.labels)
    assert decision.actions[0] == RemoveLabels(done.id, REPO, ("status:open", NEEDS_DOD.name))
    comment = decision.actions[3]
    assert isinstance(comment, Comment) and "No postmortem is opened for it" in comment.body
    wanted = load_config(None, "closure: {postmortem_on_not_planned: true}")
    assert len(postmortem_step(done, wanted, CLOSED, key=KEY).actions) == 1


def test_with_reopen_configured_an_unmet_close_is_refused() -> None:
    config = load_config(None, "closure: {on_unmet: reopen}")
    silent = worked().replace(timeline=tuple(e for e in worked().timeline
                                             if e.kind != "status_update"))
    refused = on_closed(silent, closed_event(), config, CLOSED, key=KEY,
                        commit_time=None).incident
    assert refused is not None
    assert (refused.status, refused.closed_at) == ("fixed", None)
    assert refused.timeline[-1].text.endswith("Reopened: the Definition of Done is not met")
    assert postmortem_step(refused, config, CLOSED, key=KEY).actions == ()
    comment, reopen, _ = announce_close(refused, config, CLOSED, key=KEY,
                                        before_status="fixed", labels=()).actions
    assert reopen == SetIssueState(refused.id, REPO, "open")
    assert isinstance(comment, Comment) and comment.body.startswith("**Reopened:**")
    assert "no stakeholder update is recorded" in comment.body
    # Only the postmortem missing: closed (and labelled), never reopened.
    fine = on_closed(worked(), closed_event(), config, CLOSED, key=KEY,
                     commit_time=None).incident
    assert fine is not None and fine.status == "closed"


def test_closing_notifies_the_configured_channels() -> None:
    config = replace(CONFIG, notify=("ops-slack",))
    done = on_closed(worked(), closed_event(), config, CLOSED, key=KEY,
                     commit_time=None).incident
    assert done is not None
    actions = announce_close(done, config, CLOSED, key=KEY, before_status="fixed",
                             labels=()).actions
    (notify,) = [a for a in actions if isinstance(a, Notify)]
    assert (notify.event, notify.targets, notify.key) == ("closed", ("ops-slack",), KEY)
    assert notify.summary == "Incident closed (completed)"


# --- the postmortem merged --------------------------------------------------------------

MERGED_FILE = """<!-- watchkeeper:postmortem INC-2026-0001 -->
<!-- watchkeeper:preventive -->

| # | Preventive action | Runbook control | Owner | Due Date |
| --- | --- | --- | --- | --- |
| 1 | Add a test for the boundary <!-- wk-pa:test-boundary --> | tests | @carol | 2026-12-15 |
| 2 | Block this secret type <!-- wk-pa:security-rule --> | rule |  |  |
| 3 | Page on lag <!-- wk-pa:tighten-alerting --> | alerting | @octo-org/sre | 2027-01-10 |
| 4 | Rotate tokens quarterly | people | dave | next week |

<!-- /watchkeeper:preventive -->
"""


def merged_event(number: int = 2) -> PullMerged:
    return PullMerged(repo=REPO, number=number, installation_id=7, actor="alice",
                      at=CLOSED + timedelta(days=2), head_ref=postmortem_branch("INC-2026-0001"),
                      head_repo=REPO, base_ref="master", merge_sha="ab" * 20,
                      url=f"https://github.com/{REPO}/pull/{number}", author="watchkeeper[bot]",
                      incident_id="INC-2026-0001")


def test_merging_publishes_and_plans_a_follow_up_per_complete_row() -> None:
    done = on_closed(worked(), closed_event(), CONFIG, CLOSED, key=KEY,
                     commit_time=None).incident
    assert done is not None
    done = done.replace(closure=replace(done.closure, postmortem_pr=2,
                                        postmortem_path="docs/postmortems/x.md"))
    decision = on_merged(done, merged_event(), CONFIG, CLOSED, MERGED_FILE)
    published = decision.incident
    assert published is not None
    assert published.closure.published_at == CLOSED + timedelta(days=2)
    assert [(f.key, f.owner, f.due) for f in published.closure.followups] == [
        ("test-boundary", "carol", "2026-12-15"), ("tighten-alerting", "octo-org/sre",
                                                   "2027-01-10")]
    assert all(item.met for item in published.closure.dod)
    remove, ensure, first, second = decision.actions
    assert remove == RemoveLabels(done.id, REPO, (NEEDS_DOD.name,))
    assert isinstance(ensure, EnsureLabels) and ensure.labels[0].name == "preventive-action"
    assert isinstance(first, CreateFollowUp) and isinstance(second, CreateFollowUp)
    assert first.title == "[INC-2026-0001] Preventive action: Add a test for the boundary"
    assert (first.labels, first.assignees, second.assignees) == (
        ("preventive-action",), ("carol",), ())
    assert "\nDue: 2026-12-15\n" in first.body
    assert "incident [INC-2026-0001](https://github.com/octo-org/octo-repo/issues/1) (#1)" \
        in first.body
    assert first.marker == "<!-- watchkeeper:followup INC-2026-0001 test-boundary -->"
    assert first.marker in first.body
    assert [e.kind for e in published.timeline[-1:]] == ["postmortem"]
    # The same merge again changes nothing.
    assert on_merged(published, merged_event(), CONFIG, CLOSED, MERGED_FILE).actions == ()
    note = announce_merge(published, CONFIG, CLOSED, number=2, text=MERGED_FILE)
    comment = note.actions[0]
    assert isinstance(comment, Comment)
    assert "- Rotate tokens quarterly: the due date is not a date (YYYY-MM-DD)" in comment.body
    assert "Definition of Done: all met; the `needs:definition-of-done` label is removed." \
        in comment.body


@pytest.mark.parametrize(("ref", "expected"), [
    ("watchkeeper/postmortem-INC-2026-0001", "INC-2026-0001"),
    ("watchkeeper/postmortem-", None), ("feature/postmortem-INC-1", None),
    ("watchkeeper/postmortem-INC/../x", None), (None, None)])
def test_postmortem_branches_name_their_incident(ref: str | None, expected: str | None
                                                 ) -> None:
    assert incident_id_from_branch(ref) == expected


def test_closure_survives_the_record_round_trip() -> None:
    from watchkeeper.record import incident_from_json, incident_to_json

    published = on_merged(
        on_closed(worked(), closed_event(), CONFIG, CLOSED, key=KEY,
                  commit_time=COMMIT_TIME).incident or worked(),
        merged_event(), CONFIG, CLOSED, MERGED_FILE).incident
    assert published is not None
    assert incident_from_json(incident_to_json(published)) == published
    assert isinstance(published.timeline[-1], TimelineEntry)
