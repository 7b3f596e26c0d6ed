"""`watchkeeper report`: response figures from the store, as text or JSON."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from watchkeeper.cli import main
from watchkeeper.record import Incident, SlaClock
from watchkeeper.store.sqlite import SqliteStore
from watchkeeper.subcommands.report import ReportError, window

UNTIL = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)


def record(n: int, severity: str, detected: datetime, ack: timedelta, deadline: timedelta,
           **changes: object) -> Incident:
    return Incident(
        id=f"INC-2026-{n:04d}", fingerprint=f"fp{n}", repo="octo-org/octo-repo",
        tracker_repo="octo-org/octo-repo", installation_id=7, severity=severity,  # type: ignore[arg-type]
        status="open", rule="secret_scan", source="workflow_run", title="t",
        detected_at=detected, recorded_at=detected, issue_number=n,
        milestones=(("acknowledged", detected + ack),),
        sla_clock=SlaClock(deadlines=(("acknowledge", detected + deadline),)),
    ).replace(**changes)


async def make_db(path: Path) -> None:
    store = SqliteStore(str(path))
    try:
        for incident in (
            record(1, "critical", UNTIL - timedelta(days=2), timedelta(minutes=10),
                   timedelta(minutes=15)),
            record(2, "critical", UNTIL - timedelta(days=3), timedelta(minutes=30),
                   timedelta(minutes=15)),
            record(3, "high", UNTIL - timedelta(days=40), timedelta(minutes=5),
                   timedelta(hours=1)),
        ):
            assert await store.insert_incident(incident.replace(version=1))
    finally:
        await store.close()


async def test_report_json_and_text(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "wk.db"
    await make_db(db)
    url = f"sqlite:///{db}"
    # main() runs its own event loop: call it from a worker thread.
    import asyncio

    code = await asyncio.to_thread(main, ["report", "--database-url", url, "--since", "30d",
                                          "--until", UNTIL.isoformat(), "--format", "json"])
    assert code == 0
    data = json.loads(capsys.readouterr().out)
    assert data["since"] == "2026-10-31T09:00:00+00:00"
    assert data["until"] == "2026-11-30T09:00:00+00:00"
    critical = data["severities"]["critical"]
    assert critical["incidents"] == 2
    assert critical["acknowledge"] == {"count": 2, "mean_seconds": 1200, "median_seconds": 1200}
    assert (critical["sla_met"], critical["sla_missed"], critical["sla_compliance"]) == (1, 1, 0.5)
    assert data["severities"]["high"]["incidents"] == 0  # detected before the window

    code = await asyncio.to_thread(main, ["report", "--database-url", url, "--since", "8w",
                                          "--until", "2026-11-30T09:00:00+00:00"])
    assert code == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "Incidents detected 2026-10-05 09:00 to 2026-11-30 09:00 UTC"
    assert lines[3].split()[:4] == ["critical", "2", "20m", "(n=2)"]
    assert lines[3].split()[-1] == "50%"
    assert lines[4].split()[:4] == ["high", "1", "5m", "(n=1)"]


async def test_report_refuses_bad_input(tmp_path: Path, capsys: pytest.CaptureFixture[str]
                                        ) -> None:
    import asyncio

    missing = f"sqlite:///{tmp_path / 'none.db'}"
    assert await asyncio.to_thread(main, ["report", "--database-url", missing]) == 2
    assert "no database at" in capsys.readouterr().err
    assert not (tmp_path / "none.db").exists()
    assert await asyncio.to_thread(main, ["report", "--database-url", missing,
                                          "--since", "yesterday"]) == 2
    assert "not an ISO 8601 date or time: 'yesterday'" in capsys.readouterr().err


def test_window_spans_and_dates() -> None:
    assert window("12h", None, UNTIL) == (UNTIL - timedelta(hours=12), UNTIL)
    assert window("2026-11-01", "2026-11-15", UNTIL) == (
        datetime(2026, 11, 1, tzinfo=UTC), datetime(2026, 11, 15, tzinfo=UTC))
    with pytest.raises(ReportError, match="empty"):
        window("2026-12-01", None, UNTIL)
