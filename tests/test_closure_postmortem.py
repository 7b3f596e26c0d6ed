"""The postmortem file checked field by field against the runbook's Postmortem Template, for
a complete story; refreshing a file people edited; the decision log."""

from __future__ import annotations

import re
from datetime import timedelta

from tests.closure_story import (
    CLOSED,
    COMMIT_TIME,
    CONFIG,
    FIX_HEAD,
    ISSUE_URL,
    MERGE_SHA,
    RUN_URL,
    SHA,
    at,
    closed_event,
    worked,
)

from watchkeeper.closure import decision_log, postmortem, preventive
from watchkeeper.closure.actions import PublishPostmortem
from watchkeeper.closure.decide import on_closed, postmortem_step
from watchkeeper.closure.fields import PLACEHOLDER
from watchkeeper.record import Incident, TimelineEntry
from watchkeeper.render.escape import ZWJ
from watchkeeper.render.markers import extract, names

# The runbook's "Postmortem Template" table, field by field, in its order.
RUNBOOK_TEMPLATE = ("Incident ID", "Severity", "Start / End Time", "Detection Method",
                    "Root Cause", "Customer Impact", "Containment Actions", "Permanent Fix",
                    "Preventive Actions", "Owners and Due Dates")
KEY = "closed:2026-11-28T17:00:00+00:00"


def closed(incident: Incident) -> Incident:
    decision = on_closed(incident, closed_event(), CONFIG, CLOSED, key=KEY,
                         commit_time=COMMIT_TIME)
    assert decision.incident is not None and decision.incident.status == "closed"
    return decision.incident


def publish(incident: Incident) -> PublishPostmortem:
    (action,) = postmortem_step(incident, CONFIG, CLOSED, key=KEY).actions
    assert isinstance(action, PublishPostmortem)
    return action


def template_cells(document: str) -> dict[str, str]:
    table = extract(document, "fields") or ""
    rows = [preventive.split_cells(line) for line in table.splitlines()[2:]]
    return {cells[0]: cells[1] for cells in rows}


def test_every_template_field_is_filled_from_the_record() -> None:
    action = publish(closed(worked()))
    document = action.document
    cells = template_cells(document)
    assert tuple(cells) == RUNBOOK_TEMPLATE
    pr_url = "https://github.com/octo-org/octo-repo/pull/12"
    expected = {
        "Incident ID": f"[INC-2026-0001]({ISSUE_URL})<br>Workflow Secret scan failed on master",
        "Severity": "**high** (opened as critical)<br>2026-11-27 09:20 UTC: critical → high by "
                    "alice",
        "Start / End Time": (
            "Detected: 2026-11-27 09:00 UTC (SLA clocks start)"
            "<br>Acknowledged: 2026-11-27 09:05 UTC — SLA met after 5m (target 1 hour)"
            "<br>Contained: 2026-11-27 11:00 UTC — SLA met after 2h (target 24 hours)"
            "<br>Fixed: 2026-11-27 15:30 UTC — SLA met after 6h 30m (target 3 business days)"
            "<br>Closed: 2026-11-28 17:00 UTC (open for 1d 8h; no SLA target)"),
        "Detection Method": (
            f"[Workflow run]({RUN_URL}) (rule `secret_scan`): Workflow Secret scan failed on "
            "master<br>run ID `289782451` · attempt `1` · workflow "
            f"`.github/workflows/secret-scan.yml` · commit `{SHA}` · branch `master`"
            "<br>Detection lag: 2h 30m from the offending commit (2026-11-27 06:30 UTC) to "
            "detection<br>Recorded by Watchkeeper 2m after detection"),
        "Root Cause": "A release script copied a debug config holding a live token (alice, "
                      "2026-11-27 16:00 UTC)",
        "Customer Impact": "2026-11-27 09:30 UTC: Billing API token exposed; no misuse seen "
                           "(alice)",
        "Containment Actions": (
            "✓ Open incident channel and assign IC. (alice, 2026-11-27 09:05 UTC)"
            "<br>✓ revoke key/token (bob, 2026-11-27 09:40 UTC)"
            "<br>✓ Complete containment steps. (bob, 2026-11-27 11:00 UTC)"
            "<br>✓ Validate containment with logs, smoke tests, and targeted checks. (bob, "
            "2026-11-27 11:00 UTC)<br>Contained 2026-11-27 11:00 UTC"),
        "Permanent Fix": (
            f"Pull request [Load the billing token from the vault]({pr_url}) · pr "
            f"`octo-org/octo-repo#12` · merge sha `{MERGE_SHA}` · head sha `{FIX_HEAD}`"
            "<br>Deployment [Deployment to production (success)](https://deploy.example.com/"
            f"4242) · deployment id `4242` · environment `production` · sha `{MERGE_SHA}` · "
            "state `success`<br>2026-11-27 15:00 UTC: Fix deployed to production: deployment "
            f"4242 of commit 9d5f0c7a1e8b includes pull request #{ZWJ}12"
            "<br>Fixed 2026-11-27 15:30 UTC"),
        "Preventive Actions": (
            "3 action(s) from the runbook's recovery and preventive controls, in the "
            "[Preventive Actions](#preventive-actions) table below; review, add and remove "
            "rows"),
        "Owners and Due Dates": (
            "Incident Commander: @alice<br>Security Owner: @bob<br>Fill the Owner (a GitHub "
            "login) and Due Date (YYYY-MM-DD) of each preventive action: when this file is "
            "merged, each row with both becomes a follow-up issue assigned to its owner"),
    }
    for field in RUNBOOK_TEMPLATE:
        assert cells[field] == expected[field], field


def test_the_file_then_holds_actions_decisions_the_full_timeline_and_evidence() -> None:
    incident = closed(worked())
    document = publish(incident).document
    assert names(document) == ("fields", "preventive", "decisions", "timeline", "evidence")
    assert document.startswith("<!-- watchkeeper:postmortem INC-2026-0001 -->\n\n"
                               "# Postmortem INC-2026-0001: Workflow Secret scan failed on "
                               "master\n")
    rows = preventive.parse_rows(extract(document, "preventive") or "")
    assert [(r.key, r.owner, r.due) for r in rows] == [
        ("test-boundary", "", ""), ("security-rule", "", ""), ("tighten-alerting", "", "")]
    assert rows[2].action.startswith("Tighten alerting: detection came 2h 30m after the "
                                     "offending commit")
    table = extract(document, "preventive") or ""
    assert "| Tighten alert threshold if detection lagged. |" in table
    assert "| Add/adjust tests for failed boundary (tenant isolation, auth, validation). |" \
        in table
    assert extract(document, "decisions") == (
        "- 2026-11-27 12:00 UTC: Rotate every billing API token (alice)")
    timeline = (extract(document, "timeline") or "").splitlines()
    assert len(timeline) == 2 + len(incident.timeline)  # every entry, none cut
    assert timeline[2] == (f"| 2026-11-27 09:00 | watchkeeper | Detected: Workflow Secret "
                           f"scan failed on master ([link]({RUN_URL})) |")
    assert timeline[-1].startswith("| 2026-11-28 17:00 | watchkeeper | Definition of Done: "
                                   "3 of 4 met; unmet: the postmortem is not published yet")
    evidence = (extract(document, "evidence") or "").splitlines()
    assert len(evidence) == 3
    assert evidence[0].startswith("- 2026-11-27 09:00 UTC · Workflow run · ")


def test_missing_facts_are_marked_placeholders_and_the_lag_says_unknown() -> None:
    bare = worked(root_cause=False).replace(
        timeline=tuple(e for e in worked(root_cause=False).timeline
                       if e.kind not in ("status_update", "deployment")),
        evidence=worked().evidence[:1], milestones=(("acknowledged", at(minutes=5)),),
        checklist_done=())
    decision = on_closed(bare, closed_event(), CONFIG, CLOSED, key=KEY, commit_time=None)
    assert decision.incident is not None
    cells = template_cells(publish(decision.incident).document)
    for field in ("Root Cause", "Customer Impact", "Containment Actions", "Permanent Fix"):
        assert cells[field].startswith(PLACEHOLDER), field
    assert "Detection lag: unknown (the offending commit's time could not be read)" in (
        cells["Detection Method"])
    assert "Contained: not recorded — SLA missed: not reached (target 24 hours, due " \
           "2026-11-28 09:00 UTC)" in cells["Start / End Time"]
    # Detected 2h 30m after the commit is a lag; without the commit's time no such row.
    rows = preventive.parse_rows(extract(publish(decision.incident).document, "preventive")
                                 or "")
    assert [r.key for r in rows] == ["test-boundary", "security-rule"]


def test_untrusted_text_is_neutralised_everywhere_in_the_file() -> None:
    evil = "@octo-org/admins #7 <script>x</script> [click](https://evil.example) | cell"
    incident = worked().replace(title=evil, timeline=(
        *worked().timeline,
        TimelineEntry(at(hours=8), "mallory", "decision", evil, data=(("text", evil),)),
        TimelineEntry(at(hours=8), "mallory", "rootcause", evil, data=(("text", evil),))))
    action = publish(closed(incident))
    for text in (action.document, action.decisions or "", action.body):
        visible = re.sub(r"`[^`\n]*`", "", re.sub(r"<!--.*?-->", "", text, flags=re.S))
        assert "<script>" not in visible
        assert not re.search(r"(?<!\w)@octo-org/admins", visible)
        assert "#7" not in visible
        assert "](https://evil.example)" not in visible
    # A pipe in untrusted text cannot split a table cell.
    assert tuple(template_cells(action.document)) == RUNBOOK_TEMPLATE


def test_refreshing_keeps_what_people_wrote() -> None:
    first = publish(closed(worked(root_cause=False)))
    edited = first.document.replace(
        " <!-- wk-pa:test-boundary --> | Add/adjust tests for failed boundary (tenant "
        "isolation, auth, validation). |  |  |",
        " <!-- wk-pa:test-boundary --> | Add/adjust tests for failed boundary (tenant "
        "isolation, auth, validation). | @carol | 2026-12-15 |")
    placeholder = template_cells(first.document)["Root Cause"]
    edited = edited.replace(f"| Root Cause | {placeholder} |",
                            "| Root Cause | A script shipped debug config (team review) |")
    table_end = "<!-- /watchkeeper:preventive -->"
    edited = edited.replace(
        f"\n\n{table_end}",
        f"\n| 4 | Rotate tokens quarterly | people | dave | 2026-12-20 |\n\n{table_end}")
    edited += "\n## Notes\n\nWritten by a person.\n"
    later = closed(worked(root_cause=False)).replace(timeline=(
        *closed(worked(root_cause=False)).timeline,
        TimelineEntry(CLOSED + timedelta(hours=1), "alice", "decision", "Keep the vault",
                      data=(("text", "Keep the vault"),))))
    again = publish(later)
    text = postmortem.refresh(edited, later.id, again.document, dict(again.sections),
                              again.proposals)
    assert text.endswith("## Notes\n\nWritten by a person.\n")
    assert template_cells(text)["Root Cause"] == "A script shipped debug config (team review)"
    rows = preventive.parse_rows(extract(text, "preventive") or "")
    assert [(r.key, r.action, r.owner, r.due) for r in rows][::3] == [
        ("test-boundary", rows[0].action, "@carol", "2026-12-15"),
        (None, "Rotate tokens quarterly", "dave", "2026-12-20")]
    assert "Keep the vault" in (extract(text, "decisions") or "")
    # A file that is already current is left exactly as it is.
    assert postmortem.refresh(text, later.id, again.document, dict(again.sections),
                              again.proposals) == text


def test_a_hand_written_file_is_kept_and_the_template_added_below() -> None:
    action = publish(closed(worked()))
    mine = "# Our own notes\n\nStarted by hand.\n"
    text = postmortem.refresh(mine, "INC-2026-0001", action.document, dict(action.sections),
                              action.proposals)
    assert text == mine + "\n---\n\n" + action.document


def test_the_decision_log_is_created_appended_and_its_section_replaced() -> None:
    incident = closed(worked())
    block = decision_log.block(incident, ISSUE_URL)
    assert block == (
        "## 2026-11-27 · INC-2026-0001: Workflow Secret scan failed on master\n\n"
        f"Incident [INC-2026-0001]({ISSUE_URL}), severity high.\n\n"
        "| Date (UTC) | Decision | By |\n| --- | --- | --- |\n"
        "| 2026-11-27 12:00 | Rotate every billing API token | alice |")
    created = decision_log.updated(None, incident, ISSUE_URL)
    assert created == (decision_log.NEW_FILE + "\n<!-- watchkeeper:decisions-inc-2026-0001 -->"
                       f"\n\n{block}\n\n<!-- /watchkeeper:decisions-inc-2026-0001 -->\n")
    theirs = "# Decisions\n\n- 2026-01-02: we chose Postgres.\n"
    appended = decision_log.updated(theirs, incident, ISSUE_URL)
    assert appended is not None and appended.startswith(theirs)
    more = incident.replace(timeline=(*incident.timeline, TimelineEntry(
        CLOSED, "bob", "decision", "Keep the vault", data=(("text", "Keep the vault"),))))
    replaced = decision_log.updated(appended, more, ISSUE_URL)
    assert replaced is not None and replaced.startswith(theirs)
    assert replaced.count("decisions-inc-2026-0001 -->") == 2
    assert "| Keep the vault | bob |" in replaced
    no_decisions = incident.replace(timeline=tuple(e for e in incident.timeline
                                                   if e.kind != "decision"))
    assert decision_log.updated(theirs, no_decisions, ISSUE_URL) is None
