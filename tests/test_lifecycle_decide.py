"""The responder decisions, pure and to the minute: ticks, milestones, severity, roles,
commands, permissions and exactly-once handling."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from watchkeeper.actions import (
    AddLabels,
    Comment,
    EnsureLabels,
    RemoveLabels,
    SetAssignees,
    UpdateIssueSections,
)
from watchkeeper.incident import Decision, severity_label, status_label
from watchkeeper.lifecycle import (
    CommentEvent,
    IssueEvent,
    IssueState,
    decide_comment,
    decide_issue_event,
    needs_permission,
)
from watchkeeper.lifecycle.common import event_time
from watchkeeper.lifecycle.ticks import checklist_ticks
from watchkeeper.record import Incident, incident_from_json, incident_to_json
from watchkeeper.render.issue import render_body
from watchkeeper.runbook.config import default_config
from watchkeeper.runbook.model import RoleConfig

T0 = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)  # a Friday
REPO = "octo-org/octo-repo"
CONFIG = default_config()
URL = f"https://github.com/{REPO}/issues/1#issuecomment-"


def minutes(n: float) -> datetime:
    return T0 + timedelta(minutes=n)


def incident(**changes: object) -> Incident:
    base = Incident(
        id="INC-2026-0001", fingerprint="fp", repo=REPO, tracker_repo=REPO, installation_id=7,
        severity="critical", status="open", rule="secret_scan", source="workflow_run",
        title="Workflow Secret scan failed on master", detected_at=T0, recorded_at=minutes(2),
        issue_number=1,
    )
    return base.replace(**changes)


def body_of(inc: Incident) -> str:
    return render_body(inc, CONFIG, minutes(2))


def tick(body: str, *keys: str, on: bool = True) -> str:
    for key in keys:
        old, new = ("- [ ]", "- [x]") if on else ("- [x]", "- [ ]")
        lines = body.splitlines(keepends=True)
        for i, line in enumerate(lines):
            if f"<!-- wk:{key} -->" in line:
                lines[i] = line.replace(old, new, 1)
        body = "".join(lines)
    return body


def state(body: str = "", labels: tuple[str, ...] = ("incident", "severity:critical",
                                                     "status:open"),
          assignees: tuple[str, ...] = ()) -> IssueState:
    return IssueState(REPO, 1, body, labels, assignees, 7)


def edited(body: str, body_from: str | None, at: datetime, actor: str = "alice") -> IssueEvent:
    return IssueEvent("edited", state(body), actor, "User", at, body_from=body_from)


def comment(text: str, at: datetime, *, comment_id: int = 100, actor: str = "alice",
            action: str = "created", labels: tuple[str, ...] | None = None,
            assignees: tuple[str, ...] = ()) -> CommentEvent:
    st = state(labels=labels, assignees=assignees) if labels is not None else state(
        assignees=assignees)
    return CommentEvent(action, st, comment_id, text, actor, "User", at,
                        url=f"{URL}{comment_id}")


def run(inc: Incident, text: str, at: datetime, now: datetime | None = None,
        **kw: object) -> Decision:
    return decide_comment(inc, comment(text, at, **kw), CONFIG, now or at,  # type: ignore[arg-type]
                          allowed=True)


def of_type(decision: Decision, kind: type) -> list:
    return [a for a in decision.actions if isinstance(a, kind)]


def comments(decision: Decision) -> list[str]:
    return [a.body for a in of_type(decision, Comment)]


def sections(decision: Decision) -> dict[str, str]:
    updates = of_type(decision, UpdateIssueSections)
    assert len(updates) <= 1
    return dict(updates[0].sections) if updates else {}


# --- checklist ticks ---------------------------------------------------------------


def test_ticks_become_timeline_entries_and_the_ack_item_acknowledges() -> None:
    inc = incident()
    before = body_of(inc)
    after = tick(before, "assign_ic", "record_start")
    d = decide_issue_event(inc, edited(after, before, minutes(9)), CONFIG, minutes(10))
    got = d.incident
    assert got is not None
    assert got.checklist_done == ("assign_ic", "record_start")
    assert [(e.at, e.actor, e.kind, e.text) for e in got.timeline] == [
        (minutes(9), "alice", "checklist", "Ticked: Open incident channel and assign IC."),
        (minutes(9), "alice", "checklist",
         "Ticked: Record start time, suspected scope, and current impact."),
        (minutes(9), "alice", "milestone",
         "Acknowledged (checklist items ticked); SLA met after 9m"),
    ]
    assert got.milestones == (("acknowledged", minutes(9)),)
    assert got.status == "acknowledged"
    assert d.actions[:3] == (
        EnsureLabels(REPO, (status_label("acknowledged"),)),
        RemoveLabels(inc.id, REPO, ("status:open",)),
        AddLabels(inc.id, REPO, ("status:acknowledged",)),
    )
    # Only the sections that changed; never the checklist people just edited.
    assert list(sections(d)) == ["sla", "timeline", "meta"]
    assert "| Acknowledge | 15 minutes | 2026-11-27 09:15 UTC | met (after 9m) |" in sections(
        d)["sla"]
    assert comments(d) == []


def test_a_replayed_edit_records_nothing_twice() -> None:
    inc = incident()
    before = body_of(inc)
    after = tick(before, "record_start")
    first = decide_issue_event(inc, edited(after, before, minutes(5)), CONFIG, minutes(5))
    assert first.incident is not None
    again = decide_issue_event(first.incident, edited(after, before, minutes(5)), CONFIG,
                               minutes(6))
    assert again == Decision(first.incident, ())


def test_without_changes_the_stored_ticks_are_the_before() -> None:
    inc = incident(checklist_done=("record_start",))
    body = tick(body_of(inc), "record_start", "set_severity")
    d = decide_issue_event(inc, edited(body, None, minutes(5)), CONFIG, minutes(5))
    assert d.incident is not None
    assert [e.text for e in d.incident.timeline] == [
        "Ticked: Set initial severity (`critical`, `high`, `medium`, `low`)."]
    assert d.incident.checklist_done == ("record_start", "set_severity")


def test_text_edits_and_items_outside_the_checklist_section_change_nothing() -> None:
    inc = incident()
    before = body_of(inc)
    after = before + "\n\nNotes:\n- [x] my own list <!-- wk:deploy_fix -->\n"
    assert checklist_ticks(after)["deploy_fix"] is False
    d = decide_issue_event(inc, edited(after, before, minutes(5)), CONFIG, minutes(5))
    assert d == Decision(inc, ())


def test_all_containment_items_contain_and_imply_acknowledged() -> None:
    inc = incident()
    before = body_of(inc)
    after = tick(before, "complete_containment", "validate_containment")
    d = decide_issue_event(inc, edited(after, before, minutes(300)), CONFIG, minutes(301))
    got = d.incident
    assert got is not None and got.status == "contained"
    assert got.milestones == (("acknowledged", minutes(300)), ("contained", minutes(300)))
    assert [e.text for e in got.timeline if e.kind == "milestone"] == [
        "Acknowledged (implied by contained); SLA missed by 4h 45m",
        "Contained (checklist items ticked); SLA missed by 1h",
    ]
    assert RemoveLabels(inc.id, REPO, ("status:open",)) in d.actions
    assert AddLabels(inc.id, REPO, ("status:contained",)) in d.actions
    sla = sections(d)["sla"]
    assert "| Contain | 4 hours | 2026-11-27 13:00 UTC | missed (by 1h) |" in sla
    assert "| Acknowledge | 15 minutes | 2026-11-27 09:15 UTC | missed (by 4h 45m) |" in sla


def test_one_containment_item_is_not_enough_and_unticking_keeps_milestones() -> None:
    inc = incident()
    base = body_of(inc)
    one = tick(base, "complete_containment")
    d1 = decide_issue_event(inc, edited(one, base, minutes(20)), CONFIG, minutes(20))
    assert d1.incident is not None and d1.incident.milestones == ()
    both = tick(one, "validate_containment")
    d2 = decide_issue_event(d1.incident, edited(both, one, minutes(30)), CONFIG, minutes(30))
    assert d2.incident is not None and d2.incident.milestone("contained") == minutes(30)
    undone = tick(both, "validate_containment", on=False)
    d3 = decide_issue_event(d2.incident, edited(undone, both, minutes(40), actor="bob"),
                            CONFIG, minutes(40))
    got = d3.incident
    assert got is not None
    assert got.milestone("contained") == minutes(30) and got.status == "contained"
    assert got.checklist_done == ("complete_containment",)
    assert (got.timeline[-1].actor, got.timeline[-1].text) == (
        "bob", "Unticked: Validate containment with logs, smoke tests, and targeted checks.")
    assert of_type(d3, AddLabels) == []  # the phase did not change


# --- severity ------------------------------------------------------------------------


def labeled(label: str, labels: tuple[str, ...], at: datetime, actor: str = "alice",
            action: str = "labeled") -> IssueEvent:
    return IssueEvent(action, state(labels=labels), actor, "User", at, label=label)


def test_a_new_severity_label_changes_severity_and_calls_out_past_deadlines() -> None:
    inc = incident()
    event = labeled("severity:high", ("incident", "severity:critical", "status:open",
                                      "severity:high"), minutes(70))
    assert needs_permission(inc, event)
    d = decide_issue_event(inc, event, CONFIG, minutes(71), allowed=True)
    got = d.incident
    assert got is not None and got.severity == "high"
    assert (got.timeline[-1].kind, got.timeline[-1].text) == (
        "severity", "Severity changed from critical to high (label severity:high)")
    assert d.actions[:2] == (
        EnsureLabels(REPO, (severity_label("high"),)),
        RemoveLabels(inc.id, REPO, ("severity:critical",)),
    )
    assert of_type(d, AddLabels) == []  # the person already added it
    update = of_type(d, UpdateIssueSections)[0]
    assert update.title == "[INC-2026-0001] high: Workflow Secret scan failed on master"
    assert list(dict(update.sections)) == ["summary", "sla", "timeline", "meta"]
    # High: acknowledge 1 h, contain 24 h, fix 3 business days from Friday 09:00.
    assert "| Acknowledge | 1 hour | 2026-11-27 10:00 UTC | **overdue** (by 11m) |" in dict(
        update.sections)["sla"]
    assert comments(d) == [
        "**Severity changed** from **critical** to **high** by alice (label severity:high). "
        "SLA deadlines are recomputed from detection at 2026-11-27 09:00 UTC: acknowledge by "
        "2026-11-27 10:00 UTC, contain by 2026-11-28 09:00 UTC, permanent fix by "
        "2026-12-02 09:00 UTC.\n\n"
        "**Already past under the new severity:** acknowledge was due 2026-11-27 10:00 UTC "
        "(11m ago).\n\n"
        "Incident INC-2026-0001 | Severity: high | Impact: not stated | Mitigation: not stated "
        "| Next update: 2026-11-28 09:00 UTC"
    ]


def test_the_label_matching_the_record_is_no_news() -> None:
    inc = incident()
    event = labeled("severity:critical", ("incident", "severity:critical"), minutes(3))
    assert not needs_permission(inc, event)
    assert decide_issue_event(inc, event, CONFIG, minutes(3), allowed=True) == Decision(inc, ())
    other = labeled("bug", ("incident", "severity:critical", "bug"), minutes(3))
    assert decide_issue_event(inc, other, CONFIG, minutes(3)) == Decision(inc, ())


def test_a_severity_label_from_a_non_writer_is_reverted_once() -> None:
    inc = incident()
    event = labeled("severity:low", ("incident", "severity:critical", "severity:low"),
                    minutes(5), actor="mallory")
    d = decide_issue_event(inc, event, CONFIG, minutes(5), allowed=False)
    assert d.incident is not None and d.incident.severity == "critical"
    assert d.incident.timeline == inc.timeline
    assert of_type(d, RemoveLabels) == [RemoveLabels(inc.id, REPO, ("severity:low",))]
    assert comments(d) == [
        "@mallory only people with write, maintain or admin permission on this repository can "
        "change the severity; the label `severity:low` was removed and nothing else changed."]
    assert of_type(d, UpdateIssueSections) == []
    assert decide_issue_event(d.incident, event, CONFIG, minutes(6), allowed=False) == Decision(
        d.incident, ())


def test_removing_the_only_severity_label_restores_it_once() -> None:
    inc = incident()
    event = labeled("severity:critical", ("incident", "status:open"), minutes(5),
                    action="unlabeled")
    assert not needs_permission(inc, event)
    d = decide_issue_event(inc, event, CONFIG, minutes(5))
    assert d.actions[:2] == (EnsureLabels(REPO, (severity_label("critical"),)),
                             AddLabels(inc.id, REPO, ("severity:critical",)))
    assert comments(d) == [
        "The label `severity:critical` was restored after alice removed it: an incident always "
        "keeps exactly one severity. To change it, add a different `severity:<level>` label or "
        "comment `/severity <level>`."]
    assert d.incident is not None and d.incident.severity == "critical"
    assert decide_issue_event(d.incident, event, CONFIG, minutes(6)) == Decision(d.incident, ())


def test_removing_it_while_another_severity_label_is_on_changes_nothing() -> None:
    inc = incident()
    event = labeled("severity:critical", ("incident", "severity:high"), minutes(5),
                    action="unlabeled")
    assert decide_issue_event(inc, event, CONFIG, minutes(5)) == Decision(inc, ())


def test_slash_severity_behaves_like_the_label() -> None:
    inc = incident()
    by_label = decide_issue_event(inc, labeled(
        "severity:medium", ("incident", "severity:critical", "severity:medium"), minutes(30)),
        CONFIG, minutes(30), allowed=True)
    by_command = run(inc, "/severity medium", minutes(30),
                     labels=("incident", "severity:critical"))
    assert by_label.incident is not None and by_command.incident is not None
    assert by_command.incident.severity == by_label.incident.severity == "medium"
    assert of_type(by_command, RemoveLabels) == of_type(by_label, RemoveLabels)
    assert of_type(by_command, AddLabels) == [AddLabels(inc.id, REPO, ("severity:medium",))]
    assert [u.title for u in of_type(by_command, UpdateIssueSections)] == [
        u.title for u in of_type(by_label, UpdateIssueSections)]
    assert comments(by_command) == [comments(by_label)[0].replace("(label severity:medium)",
                                                                  "(/severity)")]
    again = run(by_command.incident, "/severity medium", minutes(31), comment_id=101)
    assert comments(again) == ["Severity is already **medium**; nothing changed."]
    assert again.incident is not None and again.incident.severity == "medium"


def test_severity_comment_carries_the_last_status_update() -> None:
    inc = incident()
    d = run(inc, '/status impact="EU logins fail" mitigation="key revoked" next="10:30 UTC"',
            minutes(20))
    assert d.incident is not None
    d2 = run(d.incident, "/severity high", minutes(25), comment_id=101)
    assert comments(d2)[0].endswith(
        "Incident INC-2026-0001 | Severity: high | Impact: EU logins fail | Mitigation: key "
        "revoked | Next update: 10:30 UTC")


# --- commands --------------------------------------------------------------------------


def test_ack_contained_fixed_commands_mark_milestones_once() -> None:
    inc = incident()
    d = run(inc, "/ack looking", minutes(12))
    got = d.incident
    assert got is not None and got.milestones == (("acknowledged", minutes(12)),)
    entry = got.timeline[-1]
    assert (entry.kind, entry.text, entry.url) == (
        "milestone", "Acknowledged (/ack: looking); SLA met after 12m", f"{URL}100")
    assert comments(d) == []
    d2 = run(got, "/ack", minutes(13), comment_id=101)
    assert comments(d2) == ["Already acknowledged at 2026-11-27 09:12 UTC; nothing changed."]
    d3 = run(got, "/contained\n/fixed", minutes(600), comment_id=102)
    assert d3.incident is not None and d3.incident.status == "fixed"
    assert [m for m, _ in d3.incident.milestones] == ["acknowledged", "contained", "fixed"]
    assert of_type(d3, RemoveLabels) == [RemoveLabels(inc.id, REPO, ("status:acknowledged",))]
    assert of_type(d3, AddLabels) == [AddLabels(inc.id, REPO, ("status:fixed",))]


def test_roles_follow_commands_and_assignees_follow_ic_and_mitigation_owner() -> None:
    inc = incident()
    d = run(inc, "/ic @alice\n/mitigation me", minutes(5), actor="carol",
            assignees=("dave",))
    got = d.incident
    assert got is not None
    assert got.roles == (("incident_commander", "alice"), ("mitigation_owner", "carol"))
    assert got.milestone("acknowledged") == minutes(5)
    assert of_type(d, SetAssignees) == [SetAssignees(inc.id, REPO, ("dave", "alice", "carol"))]
    assert "| Incident Commander | @alice |" in sections(d)["roles"]
    d2 = run(got, "/ic @bob", minutes(6), comment_id=101, assignees=("dave", "alice", "carol"))
    assert d2.incident is not None and d2.incident.role("incident_commander") == "bob"
    assert d2.incident.timeline[-1].text == "Incident Commander: bob (was alice) (/ic)"
    assert of_type(d2, SetAssignees) == [SetAssignees(inc.id, REPO, ("dave", "carol", "bob"))]
    d3 = run(d2.incident, "/comms @octo-org/pm", minutes(7), comment_id=102)
    assert of_type(d3, SetAssignees) == []  # only IC and Mitigation Owner are assignees
    d4 = run(d3.incident, "/ic @bob", minutes(8), comment_id=103)  # type: ignore[arg-type]
    assert comments(d4) == ["Incident Commander is already @bob; nothing changed."]


def test_configured_default_mitigation_owner_is_assigned_with_the_ic() -> None:
    roles = dict(CONFIG.roles)
    roles["mitigation_owner"] = RoleConfig(default="erin", backup_title="Senior engineer")
    config = CONFIG.__class__(**{**{f: getattr(CONFIG, f) for f in CONFIG.__dataclass_fields__},
                                 "roles": roles})
    d = decide_comment(incident(), comment("/ic @alice", minutes(5)), config, minutes(5),
                       allowed=True)
    assert of_type(d, SetAssignees) == [SetAssignees("INC-2026-0001", REPO, ("alice", "erin"))]


def test_status_and_customer_update_are_posted_and_recorded() -> None:
    inc = incident(roles=(("communications_owner", "pat"),))
    text = ('/status impact="3 tenants locked out" mitigation="token revoked" next="11:00 UTC"\n'
            '/customer-update scope="sign-in for EU tenants" status="contained" next="12:00 UTC"')
    d = run(inc, text, minutes(45))
    got = d.incident
    assert got is not None
    status, customer = got.timeline[-2:]
    assert (status.kind, status.actor, status.at, dict(status.data)) == (
        "status_update", "alice", minutes(45),
        {"impact": "3 tenants locked out", "mitigation": "token revoked", "next": "11:00 UTC"})
    assert (customer.kind, dict(customer.data)) == ("customer_update", {
        "scope": "sign-in for EU tenants", "status": "contained", "next": "12:00 UTC"})
    assert comments(d) == [
        "**Internal update**\n\nIncident INC-2026-0001 | Severity: critical | Impact: 3 tenants "
        "locked out | Mitigation: token revoked | Next update: 11:00 UTC\n\n---\n\n"
        "**Customer update draft** — @pat please review and send:\n\n> We identified an issue "
        "affecting sign-in for EU tenants. We have contained the issue and are implementing a "
        "permanent fix. Current status: contained. Next update by 12:00 UTC."
    ]
    # Structured data survives the store's JSON round trip.
    assert incident_from_json(incident_to_json(got)).timeline[-2].data == status.data


def test_decision_rootcause_and_help() -> None:
    d = run(incident(), "/decision roll back to v1.4\n/rootcause expired signing key\n/help",
            minutes(50))
    got = d.incident
    assert got is not None
    assert [(e.kind, e.text, dict(e.data)) for e in got.timeline] == [
        ("decision", "Decision: roll back to v1.4", {"text": "roll back to v1.4"}),
        ("rootcause", "Root cause: expired signing key", {"text": "expired signing key"}),
    ]
    (reply,) = comments(d)
    assert reply.startswith("**Watchkeeper commands**")
    for usage in ("`/ack [note]`", "`/severity <critical|high|medium|low>`", "`/ic @user`",
                  '`/status impact="..." mitigation="..." next="..."`', "`/rootcause <text>`"):
        assert usage in reply


def test_unknown_commands_and_bad_arguments_get_usage_and_change_nothing_else() -> None:
    inc = incident()
    d = run(inc, "/deploy now\n/status impact=x", minutes(5))
    assert d.incident is not None and d.incident.timeline == ()
    assert of_type(d, UpdateIssueSections) == []
    assert comments(d) == [
        "Unknown command `/deploy`: nothing was done. Comment `/help` for the list of commands."
        "\n\n---\n\n`/status impact=x`: missing mitigation=\"...\", next=\"...\". Usage: "
        '`/status impact="..." mitigation="..." next="..."`']


def test_commands_from_people_without_write_are_refused_and_change_nothing() -> None:
    inc = incident()
    event = comment("/ack\n/severity low\n/ic @mallory", minutes(5), actor="mallory")
    d = decide_comment(inc, event, CONFIG, minutes(5), allowed=False)
    got = d.incident
    assert got is not None
    assert (got.severity, got.milestones, got.roles, got.timeline) == ("critical", (), (), ())
    assert [type(a) for a in d.actions] == [Comment]
    assert comments(d) == ["@mallory only people with write, maintain or admin permission on "
                           "this repository can run Watchkeeper commands; nothing was changed."]
    # Replayed: not even a second refusal.
    assert decide_comment(got, event, CONFIG, minutes(6), allowed=False) == Decision(got, ())


def test_an_edited_comment_runs_only_its_new_command() -> None:
    inc = incident()
    d1 = decide_comment(inc, comment("/ack", minutes(5)), CONFIG, minutes(5), allowed=True)
    assert d1.incident is not None
    same = comment("/ack\n\nedited: typo", minutes(6), action="edited")
    assert decide_comment(d1.incident, same, CONFIG, minutes(6), allowed=True) == Decision(
        d1.incident, ())
    added = comment("/ack\n/decision page the DBA", minutes(7), action="edited")
    d2 = decide_comment(d1.incident, added, CONFIG, minutes(7), allowed=True)
    assert d2.incident is not None
    assert [e.kind for e in d2.incident.timeline] == ["milestone", "decision"]
    assert comments(d2) == []


def test_assigning_the_first_person_in_github_makes_them_ic() -> None:
    inc = incident()
    event = IssueEvent("assigned", state(assignees=("alice",)), "bob", "User", minutes(4),
                       assignee="alice")
    assert needs_permission(inc, event)
    assert decide_issue_event(inc, event, CONFIG, minutes(4), allowed=False) == Decision(inc, ())
    d = decide_issue_event(inc, event, CONFIG, minutes(4), allowed=True)
    got = d.incident
    assert got is not None and got.role("incident_commander") == "alice"
    assert got.milestone("acknowledged") == minutes(4)
    assert of_type(d, SetAssignees) == []  # already assigned
    later = IssueEvent("assigned", state(assignees=("alice", "bob")), "bob", "User", minutes(5),
                       assignee="bob")
    assert not needs_permission(got, later)
    assert decide_issue_event(got, later, CONFIG, minutes(5), allowed=True) == Decision(got, ())


def test_closed_incident_keeps_its_status() -> None:
    inc = incident(status="closed")
    d = run(inc, "/fixed", minutes(90))
    assert d.incident is not None and d.incident.status == "closed"
    assert d.incident.milestone("fixed") == minutes(90)
    assert of_type(d, AddLabels) == [] and of_type(d, RemoveLabels) == []


def test_event_time_is_github_time_within_detection_and_now() -> None:
    assert event_time(minutes(5), minutes(10), T0) == minutes(5)
    assert event_time(minutes(15), minutes(10), T0) == minutes(10)  # skew: not in the future
    assert event_time(minutes(-5), minutes(10), T0) == T0
    assert event_time(None, minutes(10), T0) == minutes(10)
