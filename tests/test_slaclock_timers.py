"""The SLA clock's timers, to the minute: reminders, breaches, cancelling, rescheduling,
overrides and the next release. Pure: every time is an argument."""

from __future__ import annotations

import copy
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from types import MappingProxyType

from tests.support import load_payload

from watchkeeper.actions import AddLabels, Comment, EnsureLabels, UpdateIssueSections
from watchkeeper.github.executor import comment_marker
from watchkeeper.record import Incident, SlaClock, incident_from_json, incident_to_json
from watchkeeper.runbook.config import default_config
from watchkeeper.runbook.model import CalendarConfig, Config, RoleConfig
from watchkeeper.slaclock import (
    due_effects,
    needs_check,
    next_release,
    parse_label_removal,
    record_override,
)
from watchkeeper.slaclock.release import Release

DETECTED = datetime(2026, 3, 6, 16, 30, tzinfo=UTC)  # a Friday


def config(**changes: object) -> Config:
    roles = MappingProxyType({
        "incident_commander": RoleConfig(None, "eng-lead", "Engineering lead"),
        "mitigation_owner": RoleConfig(None, "senior-eng", "Senior engineer"),
        "communications_owner": RoleConfig(None, None, "PM"),
        "security_owner": RoleConfig("@octo-org/security", "sec-reviewer", "Security reviewer"),
    })
    return replace(default_config(), roles=roles, **changes)  # type: ignore[arg-type]


CONFIG = config()


def incident(severity: str = "critical", detected: datetime = DETECTED,
             **changes: object) -> Incident:
    base = Incident(
        id="INC-2026-0001", fingerprint="fp", repo="octo-org/octo-repo",
        tracker_repo="octo-org/octo-repo", installation_id=7, severity=severity,  # type: ignore[arg-type]
        status="open", rule="secret_scan", source="workflow_run",
        title="Workflow Secret scan failed on main", detected_at=detected,
        recorded_at=detected, issue_number=12,
    )
    return base.replace(**changes)


def at(minutes: float) -> datetime:
    return DETECTED + timedelta(minutes=minutes)


def comments(decision) -> list[Comment]:  # type: ignore[no-untyped-def]
    return [a for a in decision.actions if isinstance(a, Comment)]


def test_reminder_at_three_quarters_then_breach_each_exactly_once() -> None:
    record = incident()
    # Critical: acknowledge within 15 minutes, so the reminder is due at 11m15s.
    first = due_effects(record, CONFIG, at(11))
    assert first.actions == ()
    assert first.incident is not None
    assert first.incident.sla_clock.next_check == at(11.25)
    assert first.incident.sla_clock.deadlines == (
        ("acknowledge", at(15)), ("contain", at(240)), ("fix", at(24 * 60)))

    reminded = due_effects(first.incident, CONFIG, at(11.25))
    assert reminded.incident is not None
    [reminder] = comments(reminded)
    assert reminder.key == "sla:reminder:acknowledge:2026-03-06T16:45:00+00:00"
    assert reminder.body.startswith(
        "**SLA reminder: Acknowledge** is due at **2026-03-06 16:45 UTC**, 3m from now "
        "(target 15 minutes for a critical incident")
    # No IC assigned and no default: the configured backup is asked.
    assert "@eng-lead (Incident Commander): please acknowledge the incident" in reminder.body
    assert isinstance(reminded.actions[-1], UpdateIssueSections)
    assert [name for name, _ in reminded.actions[-1].sections] == ["sla", "timeline"]
    assert reminded.incident.timeline[-1].kind == "reminder"
    assert reminded.incident.sla_clock.next_check == at(15)

    again = due_effects(reminded.incident, CONFIG, at(12))
    assert comments(again) == []

    breached = due_effects(reminded.incident, CONFIG, at(15))
    assert breached.incident is not None
    [breach] = comments(breached)
    assert breach.key == "sla:breach:acknowledge:2026-03-06T16:45:00+00:00"
    assert breach.body.startswith(
        "**SLA breached: Acknowledge**. The deadline **2026-03-06 16:45 UTC** passed 0m ago")
    assert ("**Escalation**: @eng-lead (Engineering lead, backup for the Incident "
            "Commander), please step in.") in breach.body
    kinds = [type(a) for a in breached.actions]
    assert kinds == [Comment, EnsureLabels, AddLabels, UpdateIssueSections]
    add = breached.actions[2]
    assert isinstance(add, AddLabels) and add.labels == ("sla:breached",)
    assert breached.incident.timeline[-1].kind == "breach"
    # No timer within the hour: the hourly refresh is the next look.
    assert breached.incident.sla_clock.next_check == at(75)

    after = due_effects(breached.incident, CONFIG, at(16))
    assert after.actions == ()


def test_a_due_breach_swallows_its_reminder() -> None:
    # Nothing swept for 20 minutes (downtime): one breach message, not a late reminder too.
    decision = due_effects(incident(), CONFIG, at(20))
    assert decision.incident is not None
    assert [c.key for c in comments(decision)] == [
        "sla:breach:acknowledge:2026-03-06T16:45:00+00:00"]
    assert decision.incident.done("sla:reminder:acknowledge:2026-03-06T16:45:00+00:00")
    assert [e.kind for e in decision.incident.timeline] == ["breach"]


def test_milestone_met_before_the_deadline_cancels_its_timers() -> None:
    record = incident(milestones=(("acknowledged", at(5)),))
    decision = due_effects(record, CONFIG, at(150))
    assert decision.actions == ()
    assert decision.incident is not None
    assert decision.incident.sla_clock.next_check == at(180)  # containment reminder next
    # A fix contains and acknowledges too: no timer is left.
    fixed = incident(milestones=(("fixed", at(10)),))
    done = due_effects(fixed, CONFIG, at(24 * 60 + 5))
    assert done.actions == ()
    assert done.incident is not None and done.incident.sla_clock.next_check == at(
        24 * 60 + 5 + 60)


def test_severity_change_reschedules_the_timers() -> None:
    high = due_effects(incident("high"), CONFIG, at(40)).incident
    assert high is not None and high.sla_clock.next_check == at(45)  # 75% of 1 hour
    assert needs_check(high, at(41)) is False
    # Raised to critical: the stored clock is stale, and the new 15-minute deadline has
    # passed already, so it breaches at once under its own key.
    critical = high.replace(severity="critical")
    assert needs_check(critical, at(41)) is True
    decision = due_effects(critical, CONFIG, at(41))
    assert [c.key for c in comments(decision)] == [
        "sla:breach:acknowledge:2026-03-06T16:45:00+00:00"]
    # Lowered again to high: the hour-long deadline is a different timer: its reminder
    # is due at 45 minutes and its breach at 60.
    assert decision.incident is not None
    lowered = decision.incident.replace(severity="high")
    assert due_effects(lowered, CONFIG, at(44)).actions == ()
    reminder = comments(due_effects(lowered, CONFIG, at(45)))
    assert [c.key for c in reminder] == ["sla:reminder:acknowledge:2026-03-06T17:30:00+00:00"]


def test_fix_reminder_asks_mitigation_and_security_owners() -> None:
    record = incident(milestones=(("acknowledged", at(5)), ("contained", at(60))),
                      roles=(("mitigation_owner", "alice"),))
    decision = due_effects(record, CONFIG, at(18 * 60))  # 75% of 24 hours
    [reminder] = comments(decision)
    assert reminder.key == "sla:reminder:fix:2026-03-07T16:30:00+00:00"
    assert ("@alice (Mitigation Owner), @octo-org/security (Security Owner): please deploy "
            "and verify the permanent fix") in reminder.body
    assert decision.incident is not None
    breach = comments(due_effects(decision.incident, CONFIG, at(24 * 60)))[0]
    assert ("**Escalation**: @senior-eng (Senior engineer, backup for the Mitigation Owner); "
            "@sec-reviewer (Security reviewer, backup for the Security Owner), please step "
            "in.") in breach.body


def test_missing_roles_are_named_not_mentioned() -> None:
    bare = replace(default_config(), roles=MappingProxyType({}))
    decision = due_effects(incident(), bare, at(15))
    [breach] = comments(decision)
    assert "@" not in breach.body
    assert "Nobody answers for Incident Commander (set `roles.incident_commander.default` " \
           "or assign one)." in breach.body
    assert "backup for the Incident Commander; no one is configured: set " \
           "`roles.incident_commander.backup`" in breach.body


def test_business_day_timers_across_a_weekend_holiday_and_timezone() -> None:
    # Medium: acknowledge within 1 business day. Friday 16:30 UTC is 17:30 in Berlin;
    # Monday 2026-03-09 is a configured holiday, so the deadline is Tuesday 17:30 CET.
    berlin = config(calendar=CalendarConfig(timezone="Europe/Berlin",
                                            holidays=(date(2026, 3, 9),)))
    decision = due_effects(incident("medium"), berlin, at(1))
    assert decision.incident is not None
    deadlines = dict(decision.incident.sla_clock.deadlines)
    assert deadlines["acknowledge"] == datetime(2026, 3, 10, 16, 30, tzinfo=UTC)
    # 96 hours allowed: the reminder falls at 72 hours, Monday 16:30 UTC.
    assert decision.incident.sla_clock.next_check == at(61)  # the hourly refresh comes first
    quiet = due_effects(decision.incident, berlin, datetime(2026, 3, 9, 16, 29, tzinfo=UTC))
    assert comments(quiet) == []
    assert quiet.incident is not None
    assert quiet.incident.sla_clock.next_check == datetime(2026, 3, 9, 16, 30, tzinfo=UTC)
    due = due_effects(quiet.incident, berlin, datetime(2026, 3, 9, 16, 30, tzinfo=UTC))
    assert [c.key for c in comments(due)] == [
        "sla:reminder:acknowledge:2026-03-10T16:30:00+00:00"]


def test_next_release_is_the_soonest_open_milestone_after_detection() -> None:
    class M:
        def __init__(self, title: str, state: str, due: datetime | None) -> None:
            self.title, self.state, self.due_on = title, state, due

    milestones = [M("v9", "open", None), M("v1", "open", at(-60)),
                  M("v3", "open", at(60 * 24 * 9)), M("v2", "closed", at(60 * 24 * 2)),
                  M("v4", "open", at(60 * 24 * 30))]
    assert next_release(milestones, DETECTED) == Release("v3", at(60 * 24 * 9))
    assert next_release([M("v9", "open", None)], DETECTED) is None


def test_low_fix_has_no_deadline_without_a_release_and_says_so() -> None:
    low = incident("low", milestones=(("acknowledged", at(5)), ("contained", at(60))))
    without = due_effects(low, CONFIG, at(61))
    assert without.incident is not None
    assert dict(without.incident.sla_clock.deadlines).get("fix") is None
    assert without.actions == ()
    due = at(60 * 24 * 9)
    found = due_effects(without.incident, CONFIG, at(62), next_release_due=due,
                        next_release_title="v3")
    assert found.incident is not None
    assert dict(found.incident.sla_clock.deadlines)["fix"] == due
    # The release appeared: only the SLA section is re-rendered, naming the milestone.
    [update] = found.actions
    assert isinstance(update, UpdateIssueSections)
    sla = dict(update.sections)["sla"]
    assert "| Permanent fix | next release | 2026-03-15 16:30 UTC (milestone v3) |" in sla
    gone = due_effects(found.incident, CONFIG, at(63))
    [update] = gone.actions
    assert isinstance(update, UpdateIssueSections)
    assert "none (no open milestone with a due date)" in dict(update.sections)["sla"]


def test_closed_or_issueless_incidents_are_left_alone() -> None:
    assert due_effects(incident(status="closed"), CONFIG, at(60)).actions == ()
    assert due_effects(incident(issue_number=None), CONFIG, at(60)).actions == ()


def test_removing_the_label_is_recorded_and_respected_for_that_deadline() -> None:
    breached = due_effects(incident(), CONFIG, at(16)).incident
    assert breached is not None
    payload = copy.deepcopy(load_payload("issues", "unlabeled.payload"))
    # The octokit example removes "bug"; here a responder removes the breach label.
    payload["label"]["name"] = "sla:breached"
    payload["issue"]["updated_at"] = "2026-03-06T16:50:00Z"
    removal = parse_label_removal(payload)
    assert removal is not None and removal.actor == "Codertocat"
    decision = record_override(breached, removal, CONFIG, at(21), event_key="sla_override:d1")
    after = decision.incident
    assert after is not None
    entry = after.timeline[-1]
    assert (entry.kind, entry.actor, entry.at) == ("sla_override", "Codertocat", at(20))
    assert after.done("sla:override:acknowledge:2026-03-06T16:45:00+00:00")
    assert record_override(after, removal, CONFIG, at(22), event_key="sla_override:d1"
                           ).incident == after  # the same delivery again: nothing new
    # The containment deadline is another deadline: its breach adds the label again.
    contain = due_effects(after, CONFIG, at(240))
    assert any(isinstance(a, AddLabels) for a in contain.actions)


def test_an_override_before_the_breach_was_recorded_keeps_the_label_off() -> None:
    # The label went on but the sweep's save was lost; a person removed the label since.
    swept = due_effects(incident(), CONFIG, at(10)).incident
    assert swept is not None
    payload = copy.deepcopy(load_payload("issues", "unlabeled.payload"))
    payload["label"]["name"] = "SLA:Breached"
    payload["issue"]["updated_at"] = "2026-03-06T16:47:00Z"
    removal = parse_label_removal(payload)
    assert removal is not None
    overridden = record_override(swept, removal, CONFIG, at(17), event_key="k").incident
    assert overridden is not None
    decision = due_effects(overridden, CONFIG, at(17))
    [breach] = comments(decision)
    assert not any(isinstance(a, (AddLabels, EnsureLabels)) for a in decision.actions)
    assert "sla:breached" not in breach.body


def test_only_a_person_removing_the_breach_label_counts() -> None:
    payload = copy.deepcopy(load_payload("issues", "unlabeled.payload"))
    assert parse_label_removal(payload) is None  # another label
    payload["label"]["name"] = "sla:breached"
    payload["sender"]["type"] = "Bot"
    assert parse_label_removal(payload) is None
    payload["sender"]["type"] = "User"
    payload["action"] = "labeled"
    assert parse_label_removal(payload) is None


def test_the_clock_survives_the_json_round_trip() -> None:
    decision = due_effects(incident("low"), CONFIG, at(1), next_release_due=at(9000),
                           next_release_title="v3")
    assert decision.incident is not None
    clock = decision.incident.sla_clock
    assert isinstance(clock, SlaClock) and clock.release_title == "v3"
    assert incident_from_json(incident_to_json(decision.incident)) == decision.incident
    # Records written before the clock existed read with an empty one.
    legacy = incident_to_json(incident()).replace(',"sla_clock":', ',"x":')
    assert incident_from_json(legacy).sla_clock == SlaClock()


def test_comment_keys_are_safe_markers() -> None:
    key = "sla:breach:acknowledge:2026-03-06T16:45:00+00:00"
    assert comment_marker(key) == (
        "<!-- watchkeeper:comment sla:breach:acknowledge:2026-03-06T16:45:00_00:00 -->")


def test_a_breach_notifies_the_configured_channels_once() -> None:
    from watchkeeper.notify.action import Notify

    decision = due_effects(incident(), config(notify=("security-channel",)), at(15))
    [notify] = [a for a in decision.actions if isinstance(a, Notify)]
    assert (notify.event, notify.targets, notify.key) == (
        "sla_breach", ("security-channel",), "sla:breach:acknowledge:2026-03-06T16:45:00+00:00")
    assert notify.summary == ("SLA breached: Acknowledge deadline 2026-03-06 16:45 UTC passed; "
                              "escalated to backup")
    assert isinstance(decision.actions[-1], Notify)  # after the GitHub actions
    # Reminders do not notify; without targets nothing is sent.
    assert not [a for a in due_effects(incident(), config(notify=("x",)), at(12)).actions
                if isinstance(a, Notify)]
    assert not [a for a in due_effects(incident(), CONFIG, at(15)).actions
                if isinstance(a, Notify)]
