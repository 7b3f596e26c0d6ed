"""End to end: a leaked secret's alert through validity checks, resolution, closure and its
return — the checklist tick, containment evidence, reopening and linking."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from pathlib import Path

from tests.evidence_support import secret_alert
from tests.support import REPO, Harness, harness

from watchkeeper.evidence import containment_evidence
from watchkeeper.render.checklist import parse_ticks

TITLE = "Secret scanning alert #191: adafruit_io_key"
START = datetime(2026, 11, 27, 9, 2, tzinfo=UTC)


async def deliver(h: Harness, action: str, at: datetime, **fields: object) -> None:
    payload = secret_alert(action, at=at.strftime("%Y-%m-%dT%H:%M:%SZ"), **fields)
    assert (await h.deliver("secret_scanning_alert", payload)).status_code == 202
    await h.drain()


async def close(h: Harness, number: int, at: datetime) -> None:
    """What closing the issue does to the record (the closing feature's part)."""
    incident = await h.runtime.store.incident_for_issue(REPO, number)
    assert incident is not None
    assert await h.runtime.store.save_incident(dataclasses.replace(
        incident, status="closed", closed_at=at, version=incident.version + 1))
    h.fake.person_close_issue(REPO, number)


async def test_a_secret_alert_from_detection_to_reopening(tmp_path: Path) -> None:
    async with harness(tmp_path, now=START) as h:
        await deliver(h, "created", START)
        assert [i.number for i in h.fake.issues(REPO)] == [1]

        # GitHub re-checks the secret: it no longer works. The revoke item is ticked.
        h.clock.advance(18 * 60)
        await deliver(h, "validated", START + timedelta(minutes=18), validity="inactive")
        body = h.fake.issue(REPO, 1).body or ""
        assert parse_ticks(body)["revoke_credentials"] is True
        incident = await h.runtime.store.incident_for_issue(REPO, 1)
        assert incident is not None and "revoke_credentials" in incident.checklist_done
        tick = [e for e in incident.timeline if e.kind == "checklist"][-1]
        assert tick.text == (f"Ticked \u201crevoke key/token\u201d: {TITLE} is no longer valid "
                             "(validity inactive)")
        assert [dict(e.identifiers)["containment"] for e in containment_evidence(incident)] == [
            "secret inactive"]

        # Resolved as revoked by a person: a timeline entry and containment evidence.
        h.clock.advance(10 * 60)
        await deliver(h, "resolved", START + timedelta(minutes=28), resolution="revoked",
                      resolved_at="2026-11-27T09:30:00Z", resolved_by={"login": "octocat"})
        incident = await h.runtime.store.incident_for_issue(REPO, 1)
        assert incident is not None
        assert [e.text for e in incident.timeline if e.kind == "recovered"] == [
            f"{TITLE} — resolved as revoked by octocat"]
        assert [dict(e.identifiers)["containment"] for e in containment_evidence(incident)] == [
            "secret inactive", "secret revoked"]
        assert incident.status != "closed"  # an incident never closes itself
        assert h.fake.issue(REPO, 1).state == "open"

        # Closed by people; the alert comes back three days later: the incident reopens.
        await close(h, 1, START + timedelta(hours=2))
        h.clock.advance(3 * 86400)
        await deliver(h, "reopened", h.clock.now())
        incident = await h.runtime.store.incident_for_issue(REPO, 1)
        assert incident is not None and incident.status == "open"
        assert incident.closed_at is None and incident.occurrences.count == 2
        assert incident.timeline[-1].kind == "reopened"
        assert incident.timeline[-1].text.startswith(f"Reopened: {TITLE} — reopened (2d")
        assert h.fake.issue(REPO, 1).state == "open"
        assert "**Reopened:**" in h.fake.issue(REPO, 1).comments[-1].body
        assert [i.number for i in h.fake.issues(REPO)] == [1]

        # Closed again, and back after the window: a new incident that links the old one.
        await close(h, 1, h.clock.now())
        h.clock.advance(40 * 86400)
        await deliver(h, "reopened", h.clock.now())
        assert [i.number for i in h.fake.issues(REPO)] == [1, 2]
        assert h.fake.issue(REPO, 1).state == "closed"
        new = await h.runtime.store.incident_for_issue(REPO, 2)
        assert new is not None and new.id == "INC-2027-0002"  # opened in January
        link = next(e for e in new.evidence if e.kind == "incident")
        assert dict(link.identifiers) == {"incident": "INC-2026-0001", "issue": f"{REPO}#1"}
        assert any(e.text.startswith("Follows incident INC-2026-0001, closed ") for e in
                   new.timeline)
        assert "Earlier incident INC-2026-0001" in (h.fake.issue(REPO, 2).body or "")
