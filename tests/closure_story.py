"""A complete incident story as a record, built directly (as the responders and evidence
features record it): signal -> ticks -> severity change -> status update -> decision ->
fix pull request merged -> deployed -> closed. Shared by the closure tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from watchkeeper.closure.events import IssueClosed
from watchkeeper.record import Evidence, Incident, Occurrences, TimelineEntry
from watchkeeper.runbook.config import default_config

CONFIG = default_config()
REPO = "octo-org/octo-repo"
DETECTED = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)  # a Friday
COMMIT_TIME = DETECTED - timedelta(hours=2, minutes=30)
SHA = "48e8370a40a7be6aedd1c9d45c4cda79fd42d966"
MERGE_SHA = "9d5f0c7a1e8b4c3d2f1a0b9c8d7e6f5a4b3c2d1e"
FIX_HEAD = "1111111111111111111111111111111111111111"
RUN_URL = f"https://github.com/{REPO}/actions/runs/289782451"
ISSUE_URL = f"https://github.com/{REPO}/issues/1"
CLOSED = DETECTED + timedelta(days=1, hours=8)


def at(hours: float = 0, minutes: float = 0) -> datetime:
    return DETECTED + timedelta(hours=hours, minutes=minutes)


def opened() -> Incident:
    """The incident as the foundation opens it from a failing secret scan."""
    return Incident(
        id="INC-2026-0001",
        fingerprint=f"{REPO}|secret_scan|.github/workflows/secret-scan.yml|master",
        repo=REPO, tracker_repo=REPO, installation_id=7, severity="critical", status="open",
        rule="secret_scan", source="workflow_run",
        title="Workflow Secret scan failed on master", detected_at=DETECTED,
        recorded_at=at(minutes=2), issue_number=1, branch="master", commit_sha=SHA,
        url=RUN_URL, subject=".github/workflows/secret-scan.yml",
        facts=(("run_attempt", "1"), ("run_id", "289782451"), ("workflow_name", "Secret scan"),
               ("workflow_path", ".github/workflows/secret-scan.yml")),
        occurrences=Occurrences(count=1, last_at=DETECTED, last_url=RUN_URL, last_commit=SHA,
                                last_event_key="workflow_run:289782451:1:failure"),
        timeline=(
            TimelineEntry(DETECTED, "watchkeeper", "detected",
                          "Detected: Workflow Secret scan failed on master", url=RUN_URL,
                          key="workflow_run:289782451:1:failure"),
            TimelineEntry(at(minutes=2), "watchkeeper", "recorded",
                          "Recorded by Watchkeeper, 2m after detection"),
        ),
        evidence=(Evidence("workflow_run:289782451:1:failure", "workflow_run",
                           "Workflow Secret scan failed on master", RUN_URL,
                           (("run_id", "289782451"), ("run_attempt", "1"), ("sha", SHA)),
                           DETECTED),),
    )


def _tick(when: datetime, actor: str, key: str, text: str) -> TimelineEntry:
    return TimelineEntry(when, actor, "checklist", f"Ticked: {text}",
                         data=(("item", key), ("ticked", "true")))


def worked(*, root_cause: bool = True) -> Incident:
    """The story up to (not including) the close."""
    incident = opened()
    pr_url = f"https://github.com/{REPO}/pull/12"
    entries = [
        TimelineEntry(at(minutes=5), "alice", "role", "Incident Commander: alice (/ic)",
                      data=(("role", "incident_commander"), ("holder", "alice"))),
        _tick(at(minutes=5), "alice", "assign_ic", "Open incident channel and assign IC."),
        TimelineEntry(at(minutes=5), "alice", "milestone", "Acknowledged (ticked); SLA met"),
        TimelineEntry(at(minutes=20), "alice", "severity",
                      "Severity changed from critical to high (/severity)",
                      data=(("from", "critical"), ("to", "high"))),
        TimelineEntry(at(minutes=30), "alice", "status_update",
                      "Incident INC-2026-0001 | Severity: high | Impact: Billing API token "
                      "exposed | Mitigation: revoking | Next update: 10:30",
                      data=(("impact", "Billing API token exposed; no misuse seen"),
                            ("mitigation", "revoking the token"), ("next", "10:30 UTC"))),
        _tick(at(minutes=40), "bob", "revoke_credentials", "revoke key/token"),
        _tick(at(hours=2), "bob", "complete_containment", "Complete containment steps."),
        _tick(at(hours=2), "bob", "validate_containment",
              "Validate containment with logs, smoke tests, and targeted checks."),
        TimelineEntry(at(hours=2), "bob", "milestone", "Contained (ticked); SLA met"),
        TimelineEntry(at(hours=3), "alice", "decision", "Rotate every billing API token",
                      data=(("text", "Rotate every billing API token"),)),
        TimelineEntry(at(hours=5), "carol", "pull_request",
                      "Pull request #12 merged by carol (merge commit 9d5f0c7a1e8b)", url=pr_url),
        TimelineEntry(at(hours=6), "deployer", "deployment",
                      "Fix deployed to production: deployment 4242 of commit 9d5f0c7a1e8b "
                      "includes pull request #12",
                      data=(("deployment_id", "4242"), ("environment", "production"),
                            ("sha", MERGE_SHA), ("state", "success"), ("fix", "true"),
                            ("pr", f"{REPO}#12"))),
        TimelineEntry(at(hours=6, minutes=30), "bob", "milestone", "Fixed (/fixed); SLA met"),
    ]
    if root_cause:
        entries.append(TimelineEntry(
            at(hours=7), "alice", "rootcause",
            "A release script copied a debug config holding a live token",
            data=(("text", "A release script copied a debug config holding a live token"),)))
    evidence = (
        *incident.evidence,
        Evidence(f"pr:{REPO}#12", "pull_request", "Load the billing token from the vault",
                 pr_url, (("pr", f"{REPO}#12"), ("author", "carol"), ("state", "merged"),
                          ("branch", "fix/billing-token"), ("head_sha", FIX_HEAD),
                          ("merge_sha", MERGE_SHA)), at(hours=1)),
        Evidence("deployment:4242", "deployment", "Deployment to production (success)",
                 "https://deploy.example.com/4242",
                 (("deployment_id", "4242"), ("environment", "production"), ("sha", MERGE_SHA),
                  ("state", "success"), ("fix", f"{REPO}#12")), at(hours=6)),
    )
    return incident.replace(
        severity="high", status="fixed",
        roles=(("incident_commander", "alice"), ("security_owner", "bob")),
        milestones=(("acknowledged", at(minutes=5)), ("contained", at(hours=2)),
                    ("fixed", at(hours=6, minutes=30))),
        checklist_done=("assign_ic", "revoke_credentials", "complete_containment",
                        "validate_containment"),
        timeline=(*incident.timeline, *entries), evidence=evidence)


def closed_event(when: datetime = CLOSED, reason: str = "completed",
                 labels: tuple[str, ...] = ("incident", "severity:high",
                                            "source:workflow_run", "status:fixed")
                 ) -> IssueClosed:
    return IssueClosed(repo=REPO, number=1, installation_id=7, actor="alice", at=when,
                       reason=reason, labels=labels, url=ISSUE_URL)
