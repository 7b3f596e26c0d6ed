"""Deliveries, incidents and store factories shared by the store tests."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

from watchkeeper.record import Incident, Occurrences
from watchkeeper.store.base import Delivery, Store

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
BODY = b'{"action":"completed","workflow_run":{"id":1,"name":"CI"},"pad":"' + b"x" * 5000 + b'"}'
FINGERPRINT = "acme/api|secret_scan|scan.yml|main"

# Opens one more store on the same database, as another process or replica would.
OpenStore = Callable[[], Awaitable[Store]]


def delivery(n: int, at: datetime = T0, body: bytes = BODY) -> Delivery:
    return Delivery(f"d-{n}", "workflow_run", "completed", body, at)


def incident(n: int, fingerprint: str = FINGERPRINT, **kw: object) -> Incident:
    base = Incident(
        id=f"INC-2026-{n:04d}",
        fingerprint=fingerprint,
        repo="acme/api",
        tracker_repo="acme/api",
        installation_id=7,
        severity="critical",
        status="open",
        rule="secret_scan",
        source="workflow_run",
        title="Secret scan failed",
        detected_at=T0,
        recorded_at=T0 + timedelta(minutes=1),
        occurrences=Occurrences(count=1, last_at=T0),
        version=1,
    )
    return base.replace(**kw)
