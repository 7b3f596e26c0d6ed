"""End to end for the other security sources, config layering and concurrency: each
delivery goes through the real app, store and client against the stateful fake."""

from __future__ import annotations

import asyncio
import copy
from datetime import UTC, datetime
from pathlib import Path

from tests.support import INSTALLATION, REPO, failing_secret_scan, harness, load_payload

from watchkeeper.github.fake import FakeGitHub

PIKA = "wolfy1339/pika-pack"
HELLO = "Codertocat/Hello-World"


def critical_dependabot(number: int, manifest: str) -> dict:
    """octokit's dependabot_alert/created example (a real delivery), made critical.

    Adjusted: the advisory is `medium` in the example; the runbook opens only criticals.
    """
    payload = copy.deepcopy(load_payload("dependabot_alert", "created.payload"))
    alert = payload["alert"]
    alert["number"] = number
    alert["dependency"]["manifest_path"] = manifest
    alert["security_advisory"]["severity"] = "critical"
    alert["security_vulnerability"]["severity"] = "critical"
    return payload


def high_code_scanning() -> dict:
    """octokit's code_scanning_alert/created example with `security_severity_level`.

    Adjusted: current deliveries carry `rule.security_severity_level`; the example predates it.
    """
    payload = copy.deepcopy(load_payload("code_scanning_alert", "created.payload"))
    payload["alert"]["rule"]["security_severity_level"] = "high"
    return payload


async def test_dependabot_alerts_for_one_advisory_join_one_incident(tmp_path: Path) -> None:
    fake = FakeGitHub(app_id=4242, app_slug="watchkeeper")
    fake.add_repo(PIKA, installation_id=13986380, default_branch="main")
    async with harness(tmp_path, fake=fake) as h:
        await h.deliver("dependabot_alert", critical_dependabot(20, "package-lock.json"))
        await h.deliver("dependabot_alert", critical_dependabot(21, "web/package-lock.json"))
        await h.drain()
        creates = fake.calls("POST", rf"/repos/{PIKA}/issues")
        assert len(creates) == 1
        assert creates[0].json["title"].startswith("[INC-2026-0001] high:")
        assert "severity:high" in creates[0].json["labels"]
        incidents = await h.runtime.store.list_incidents(open_only=True)
        assert len(incidents) == 1 and incidents[0].occurrences.count == 2
        # The incident starts at the alert's own creation time, not when it was processed.
        assert incidents[0].detected_at == datetime(2023, 6, 24, 13, 57, 12, tzinfo=UTC)


async def test_medium_dependabot_alert_opens_nothing(tmp_path: Path) -> None:
    fake = FakeGitHub(app_id=4242, app_slug="watchkeeper")
    fake.add_repo(PIKA, installation_id=13986380, default_branch="main")
    async with harness(tmp_path, fake=fake) as h:
        await h.deliver("dependabot_alert", load_payload("dependabot_alert", "created.payload"))
        await h.drain()
        assert fake.calls("POST", rf"/repos/{PIKA}/issues") == []


async def test_high_code_scanning_alert_opens_a_high_incident(tmp_path: Path) -> None:
    fake = FakeGitHub(app_id=4242, app_slug="watchkeeper")
    fake.add_repo(HELLO, installation_id=14662836, default_branch="main")
    async with harness(tmp_path, fake=fake) as h:
        await h.deliver("code_scanning_alert", high_code_scanning())
        await h.drain()
        (create,) = fake.calls("POST", rf"/repos/{HELLO}/issues")
        assert "severity:high" in create.json["labels"]
        assert "source:code_scanning_alert" in create.json["labels"]
        assert "java/sql-injection" in create.json["body"]


async def test_incidents_repository_keeps_incidents_private(tmp_path: Path) -> None:
    fake = FakeGitHub(app_id=4242, app_slug="watchkeeper")
    fake.add_repo(REPO, installation_id=INSTALLATION, private=False, default_branch="master",
                  files={".github/watchkeeper.yml":
                         "incidents:\n  repository: octo-org/security-incidents\n"})
    fake.add_repo("octo-org/security-incidents", installation_id=INSTALLATION, private=True)
    async with harness(tmp_path, fake=fake) as h:
        await h.deliver("workflow_run", failing_secret_scan())
        await h.drain()
        assert fake.calls("POST", rf"/repos/{REPO}/issues") == []
        (create,) = fake.calls("POST", r"/repos/octo-org/security-incidents/issues")
        assert "octo-org/octo-repo" in create.json["body"]


async def test_org_config_is_merged_under_the_repository_config(tmp_path: Path) -> None:
    fake = FakeGitHub(app_id=4242, app_slug="watchkeeper")
    fake.add_repo("octo-org/.github", installation_id=INSTALLATION,
                  files={".github/watchkeeper.yml":
                         "rules:\n  secret_scan:\n    severity: high\n"})
    fake.add_repo(REPO, installation_id=INSTALLATION, default_branch="master",
                  files={".github/watchkeeper.yml": "incidents:\n  reopen_window_days: 7\n"})
    async with harness(tmp_path, fake=fake) as h:
        await h.deliver("workflow_run", failing_secret_scan())
        await h.drain()
        (create,) = fake.calls("POST", rf"/repos/{REPO}/issues")
        assert "severity:high" in create.json["labels"]


async def test_a_broken_config_still_opens_the_incident_and_says_why(tmp_path: Path) -> None:
    fake = FakeGitHub(app_id=4242, app_slug="watchkeeper")
    fake.add_repo(REPO, installation_id=INSTALLATION, default_branch="master",
                  files={".github/watchkeeper.yml":
                         "rules:\n  secret_scan:\n    severity: hgih\n"})
    async with harness(tmp_path, fake=fake) as h:
        await h.deliver("workflow_run", failing_secret_scan())
        await h.drain()
        (create,) = fake.calls("POST", rf"/repos/{REPO}/issues")
        assert "severity:critical" in create.json["labels"]  # the runbook default applies
        body = create.json["body"]
        assert ".github/watchkeeper.yml:3" in body and "hgih" in body


async def test_concurrent_deliveries_for_one_fingerprint_open_one_issue(tmp_path: Path) -> None:
    async with harness(tmp_path) as h:
        for run_id in range(1000, 1012):
            await h.deliver("workflow_run", failing_secret_scan(run_id=run_id))
        worker = h.client_app.state.worker

        async def drain_concurrently() -> None:
            async with h.runtime.gateway.session():
                await asyncio.gather(*(worker.run_once() for _ in range(4)))

        # Conflicts are retried later by the worker: move the clock past every backoff.
        for _ in range(10):
            await drain_concurrently()
            h.clock.advance(3600)
        assert len(h.fake.calls("POST", rf"/repos/{REPO}/issues")) == 1
        (incident,) = await h.runtime.store.list_incidents(open_only=True)
        assert incident.occurrences.count == 12
        stats = await h.runtime.store.queue_stats(h.clock.now())
        assert stats["pending"] == 0 and stats.get("dead", 0) == 0
