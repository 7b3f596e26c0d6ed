"""SqliteStore: queue semantics, leases, incidents' invariants, durability."""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import subprocess
import sys
import threading
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from watchkeeper.record import Incident, Occurrences
from watchkeeper.store import StoreUnavailable, open_store
from watchkeeper.store.base import Delivery
from watchkeeper.store.sqlite import SqliteStore
from watchkeeper.store.sqlite_schema import MIGRATIONS

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
BODY = b'{"action":"completed","workflow_run":{"id":1,"name":"CI"},"pad":"' + b"x" * 5000 + b'"}'


def delivery(n: int, at: datetime = T0, body: bytes = BODY) -> Delivery:
    return Delivery(f"d-{n}", "workflow_run", "completed", body, at)


FINGERPRINT = "acme/api|secret_scan|scan.yml|main"


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


@pytest.fixture(params=[True, False], ids=["threaded", "direct"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[SqliteStore]:
    s = SqliteStore(str(tmp_path / "wk.db"), threaded=request.param)
    yield s
    await s.close()


# --- delivery queue ----------------------------------------------------------------

async def test_enqueue_is_idempotent_per_delivery_id(store: SqliteStore) -> None:
    assert await store.enqueue(delivery(1)) is True
    assert await store.enqueue(delivery(1, body=b'{"other":1}')) is False
    claimed = await store.claim("w", T0, 60)
    assert claimed == Delivery("d-1", "workflow_run", "completed", BODY, T0, attempts=1)
    assert await store.claim("w", T0, 60) is None


async def test_bodies_round_trip_exactly_compressed_or_not(store: SqliteStore) -> None:
    incompressible = os.urandom(3000)
    await store.enqueue(delivery(1, body=incompressible))
    await store.enqueue(delivery(2, T0 + timedelta(seconds=1)))
    first = await store.claim("w", T0 + timedelta(seconds=5), 60)
    second = await store.claim("w", T0 + timedelta(seconds=5), 60)
    assert first is not None and first.body == incompressible
    assert second is not None and second.body == BODY
    raw = sqlite3.connect(store.path).execute(
        "SELECT delivery_id, encoding, length(body) FROM deliveries ORDER BY seq").fetchall()
    assert raw[0] == ("d-1", "identity", 3000)
    assert raw[1][:2] == ("d-2", "zlib") and raw[1][2] < len(BODY) / 10


async def test_claim_takes_oldest_due_and_leases_it(store: SqliteStore) -> None:
    await store.enqueue(delivery(2, T0 + timedelta(seconds=2)))
    await store.enqueue(delivery(1, T0))
    assert await store.claim("w", T0 - timedelta(seconds=1), 60) is None  # not received yet
    now = T0 + timedelta(seconds=10)
    a = await store.claim("w", now, 60)
    b = await store.claim("w", now + timedelta(seconds=5), 60)
    assert (a and a.delivery_id, b and b.delivery_id) == ("d-1", "d-2")
    assert await store.claim("w", now + timedelta(seconds=59), 60) is None  # both leased
    again = await store.claim("other", now + timedelta(seconds=60), 60)  # lease ran out
    assert again is not None and (again.delivery_id, again.attempts) == ("d-1", 2)
    assert await store.claim("other", now + timedelta(seconds=64), 60) is None
    last = await store.claim("other", now + timedelta(seconds=65), 60)
    assert last is not None and (last.delivery_id, last.attempts) == ("d-2", 2)


async def test_retry_later_complete_and_states(store: SqliteStore) -> None:
    await store.enqueue(delivery(1))
    await store.claim("w", T0, 60)
    await store.retry_later("d-1", "HTTP 502", T0 + timedelta(seconds=30))
    assert await store.claim("w", T0 + timedelta(seconds=29), 60) is None
    d = await store.claim("w", T0 + timedelta(seconds=30), 60)
    assert d is not None and d.attempts == 2
    state = await store.delivery_state("d-1")
    assert state is not None and (state.state, state.attempts, state.last_error) == (
        "pending", 2, "HTTP 502")
    await store.complete("d-1", T0 + timedelta(seconds=31))
    state = await store.delivery_state("d-1")
    assert state is not None and state.state == "done"
    assert await store.claim("w", T0 + timedelta(days=1), 60) is None
    assert await store.delivery_state("nope") is None


async def test_dead_letters_are_kept_listed_and_can_be_requeued(store: SqliteStore) -> None:
    await store.enqueue(delivery(1))
    await store.enqueue(delivery(2))
    await store.claim("w", T0, 60)
    await store.dead_letter("d-1", "PermanentError: bad payload", T0)
    dead = await store.dead_letters()
    assert [(d.delivery_id, d.state, d.last_error, d.event, d.action) for d in dead] == [
        ("d-1", "dead", "PermanentError: bad payload", "workflow_run", "completed")]
    stats = await store.queue_stats(T0 + timedelta(seconds=90))
    assert stats == {"pending": 1.0, "due": 1.0, "dead": 1.0,
                     "oldest_age_seconds": 90.0, "oldest_due_seconds": 90.0}
    assert await store.requeue("d-1", T0 + timedelta(hours=1)) is True
    assert await store.requeue("d-2", T0) is False  # pending already
    later = T0 + timedelta(hours=1)
    first = await store.claim("w", later, 60)
    assert first is not None and first.delivery_id == "d-2"  # older due time first
    requeued = await store.claim("w", later, 60)
    assert requeued is not None and (requeued.delivery_id, requeued.attempts) == ("d-1", 1)


async def test_queue_stats_when_idle_and_with_future_retries(store: SqliteStore) -> None:
    assert await store.queue_stats(T0) == {"pending": 0.0, "due": 0.0, "dead": 0.0,
                                           "oldest_age_seconds": 0.0, "oldest_due_seconds": 0.0}
    await store.enqueue(delivery(1))
    await store.claim("w", T0, 300)
    stats = await store.queue_stats(T0 + timedelta(seconds=10))
    assert (stats["pending"], stats["due"], stats["oldest_age_seconds"]) == (1.0, 0.0, 10.0)


async def test_prune_forgets_old_finished_work_but_keeps_dead_letters(store: SqliteStore) -> None:
    for n in (1, 2, 3):
        await store.enqueue(delivery(n))
    for _ in range(3):
        await store.claim("w", T0, 60)
    await store.complete("d-1", T0)
    await store.dead_letter("d-2", "boom", T0)
    await store.complete("d-3", T0 + timedelta(days=5))
    await store.remember_event("run:1:1", T0)
    assert await store.prune(T0 + timedelta(days=8, seconds=1)) == 1
    assert await store.delivery_state("d-1") is None
    assert (await store.delivery_state("d-2")).state == "dead"  # type: ignore[union-attr]
    assert (await store.delivery_state("d-3")).state == "done"  # type: ignore[union-attr]
    assert await store.remember_event("run:1:1", T0 + timedelta(days=9)) is False
    assert await store.prune(T0 + timedelta(days=31)) == 2  # d-3 and the replay key
    assert await store.remember_event("run:1:1", T0 + timedelta(days=31)) is True


async def test_remember_event(store: SqliteStore) -> None:
    assert await store.remember_event("workflow_run:1:1:failure", T0) is True
    assert await store.remember_event("workflow_run:1:1:failure", T0) is False
    assert await store.remember_event("workflow_run:1:2:failure", T0) is True


async def test_naive_times_are_refused(store: SqliteStore) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        await store.enqueue(delivery(1, at=datetime(2026, 1, 1)))


async def test_ping(store: SqliteStore) -> None:
    assert await store.ping() is True


# --- incidents ---------------------------------------------------------------------

async def test_incident_lookups(store: SqliteStore) -> None:
    first = incident(1, issue_number=41)
    assert await store.insert_incident(first) is True
    assert await store.get_incident("INC-2026-0001") == first
    assert await store.open_incident_for(first.fingerprint) == first
    assert await store.incident_for_issue("acme/api", 41) == first
    assert await store.incident_for_issue("acme/api", 42) is None
    assert await store.latest_incident_for(first.fingerprint) == first
    assert await store.get_incident("INC-2026-0404") is None


async def test_one_open_incident_per_fingerprint(store: SqliteStore) -> None:
    assert await store.insert_incident(incident(1)) is True
    assert await store.insert_incident(incident(2)) is False
    assert await store.insert_incident(incident(3, fingerprint="other")) is True
    closed = incident(1, status="closed", closed_at=T0, version=2)
    assert await store.save_incident(closed) is True
    assert await store.open_incident_for(closed.fingerprint) is None
    assert await store.insert_incident(incident(4)) is True  # a new one may open now
    assert (await store.latest_incident_for(closed.fingerprint)).id == "INC-2026-0004"  # type: ignore[union-attr]
    assert [i.id for i in await store.list_incidents()] == ["INC-2026-0003", "INC-2026-0004"]
    assert [i.id for i in await store.list_incidents(open_only=False)] == [
        "INC-2026-0001", "INC-2026-0003", "INC-2026-0004"]
    # Reopening the old one while INC-2026-0004 holds the fingerprint is a conflict.
    assert await store.save_incident(closed.replace(status="open", version=3)) is False


async def test_save_incident_checks_the_version(store: SqliteStore) -> None:
    await store.insert_incident(incident(1))
    v2 = incident(1, severity="high", version=2)
    assert await store.save_incident(v2) is True
    assert await store.save_incident(incident(1, severity="low", version=2)) is False  # stale
    assert await store.save_incident(incident(1, version=4)) is False  # skipped one
    assert await store.get_incident("INC-2026-0001") == v2
    assert await store.save_incident(incident(9, version=1)) is False  # never inserted


async def test_incident_numbers_count_up_and_survive_reopen(tmp_path: Path) -> None:
    path = str(tmp_path / "n.db")
    s = SqliteStore(path)
    assert [await s.next_incident_number() for _ in range(3)] == [1, 2, 3]
    await s.close()
    s = SqliteStore(path)
    assert await s.next_incident_number() == 4
    await s.close()


async def test_everything_persists_across_reopen(tmp_path: Path) -> None:
    path = str(tmp_path / "p.db")
    s = SqliteStore(path)
    await s.enqueue(delivery(1))
    await s.insert_incident(incident(1))
    await s.remember_event("k", T0)
    await s.close()
    s = SqliteStore(path)
    assert s.schema_version == len(MIGRATIONS)
    d = await s.claim("w", T0, 60)
    assert d is not None and d.body == BODY
    assert (await s.get_incident("INC-2026-0001")) == incident(1)
    assert await s.remember_event("k", T0) is False
    await s.close()
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    assert conn.execute("SELECT version FROM schema_version ORDER BY version").fetchall() == [
        (v,) for v in range(1, len(MIGRATIONS) + 1)]


async def test_a_newer_schema_is_refused(tmp_path: Path) -> None:
    path = str(tmp_path / "future.db")
    await SqliteStore(path).close()
    conn = sqlite3.connect(path)
    conn.execute("INSERT INTO schema_version (version) VALUES (99)")
    conn.commit()
    conn.close()
    with pytest.raises(RuntimeError, match="schema version 99 is newer"):
        SqliteStore(path)


# --- several connections at once (as several processes would be) --------------------

def _in_threads(count: int, work: object) -> list[object]:
    barrier = threading.Barrier(count)
    results: list[object] = [None] * count

    def run(i: int) -> None:
        barrier.wait()
        results[i] = asyncio.run(work(i))  # type: ignore[operator]

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    return results


def test_concurrent_inserts_open_exactly_one_incident(tmp_path: Path) -> None:
    path = str(tmp_path / "race.db")
    asyncio.run(SqliteStore(path).close())  # create the schema once

    async def insert(i: int) -> bool:
        s = SqliteStore(path)
        try:
            return await s.insert_incident(incident(i + 1))
        finally:
            await s.close()

    results = _in_threads(8, insert)
    assert sorted(results) == [False] * 7 + [True]  # type: ignore[type-var]
    rows = sqlite3.connect(path).execute("SELECT COUNT(*) FROM incidents").fetchone()
    assert rows == (1,)


def test_concurrent_claims_hand_each_delivery_to_one_worker(tmp_path: Path) -> None:
    path = str(tmp_path / "claims.db")

    async def fill() -> None:
        s = SqliteStore(path)
        for n in range(60):
            await s.enqueue(delivery(n))
        await s.close()

    asyncio.run(fill())

    async def drain(i: int) -> list[str]:
        s = SqliteStore(path, threaded=bool(i % 2))
        got = []
        while (d := await s.claim(f"w{i}", T0, 300)) is not None:
            got.append(d.delivery_id)
        await s.close()
        return got

    results = _in_threads(4, drain)
    claimed = [d for got in results for d in got]  # type: ignore[union-attr]
    assert sorted(claimed) == sorted(f"d-{n}" for n in range(60))


_KILL_SCRIPT = """
import asyncio, sys
from datetime import UTC, datetime
from watchkeeper.store.base import Delivery
from watchkeeper.store.sqlite import SqliteStore
from watchkeeper.store.sqlite_schema import MIGRATIONS

async def main():
    store = SqliteStore(sys.argv[1])
    for n in range(10_000):
        ok = await store.enqueue(Delivery(f"k-{n}", "ping", None, b'{"zen":"x"}',
                                          datetime.now(UTC)))
        print(f"k-{n}" if ok else "dup", flush=True)
    await asyncio.sleep(60)

asyncio.run(main())
"""


def test_acknowledged_deliveries_survive_sigkill(tmp_path: Path) -> None:
    path = str(tmp_path / "kill.db")
    proc = subprocess.Popen([sys.executable, "-c", _KILL_SCRIPT, path],
                            stdout=subprocess.PIPE, text=True)
    acknowledged = []
    assert proc.stdout is not None
    for line in proc.stdout:
        acknowledged.append(line.strip())
        if len(acknowledged) == 300:
            break
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)
    proc.stdout.close()
    stored = {r[0] for r in sqlite3.connect(path).execute("SELECT delivery_id FROM deliveries")}
    assert set(acknowledged) <= stored


# --- open_store -----------------------------------------------------------------------

async def test_open_store_urls(tmp_path: Path) -> None:
    memory = open_store("sqlite:///:memory:")
    assert await memory.enqueue(delivery(1)) is True
    await memory.close()
    on_disk = open_store(f"sqlite:///{tmp_path}/x.db")
    assert await on_disk.ping() is True
    await on_disk.close()
    assert (tmp_path / "x.db").exists()
    with pytest.raises(StoreUnavailable, match="PostgreSQL store is not available yet"):
        open_store("postgresql://db/wk")
    with pytest.raises(StoreUnavailable, match="unsupported scheme"):
        open_store("mysql://db/wk")
