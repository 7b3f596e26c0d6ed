"""The Store contract, run against every backend: SQLite (through its store thread and
directly) and PostgreSQL. Backend-specific behaviour (files, WAL, compression, migrations,
SKIP LOCKED) is tested beside each backend."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from tests.store_support import BODY, T0, OpenStore, delivery, incident

from watchkeeper.record import TimelineEntry
from watchkeeper.store.base import Delivery, Store
from watchkeeper.store.postgres import PostgresStore
from watchkeeper.store.sqlite import SqliteStore


@dataclass(frozen=True)
class Backend:
    kind: str  # "sqlite" | "sqlite-direct" | "postgres"
    where: str  # file path, or the server URL
    schema: str | None = None


@pytest.fixture(params=["sqlite", "sqlite-direct", "postgres"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Backend:
    if request.param == "postgres":
        return Backend("postgres", request.getfixturevalue("postgres_url"),
                       request.getfixturevalue("pg_schema"))
    return Backend(request.param, str(tmp_path / "wk.db"))


@pytest.fixture
async def open_another(backend: Backend) -> AsyncIterator[OpenStore]:
    """Opens stores on one database, as several processes or replicas would."""
    opened: list[Store] = []

    async def new() -> Store:
        store: Store
        if backend.kind == "postgres":
            pg = PostgresStore(backend.where, schema=backend.schema, max_size=4)
            opened.append(pg)
            await pg.open()
            store = pg
        else:
            store = SqliteStore(backend.where, threaded=backend.kind == "sqlite")
            opened.append(store)
        return store

    yield new
    for store in opened:
        await store.close()


@pytest.fixture
async def store(open_another: OpenStore) -> Store:
    return await open_another()


# --- delivery queue ----------------------------------------------------------------

async def test_enqueue_is_idempotent_per_delivery_id(store: Store) -> None:
    assert await store.enqueue(delivery(1)) is True
    assert await store.enqueue(delivery(1, body=b'{"other":1}')) is False
    claimed = await store.claim("w", T0, 60)
    assert claimed == Delivery("d-1", "workflow_run", "completed", BODY, T0, attempts=1)
    assert claimed.received_at.utcoffset() == timedelta(0)
    assert await store.claim("w", T0, 60) is None


async def test_bodies_round_trip_exactly(store: Store) -> None:
    bodies = [os.urandom(3000), BODY, b"", b"\x00\xff" * 40_000]
    for n, body in enumerate(bodies):
        await store.enqueue(delivery(n, T0 + timedelta(seconds=n), body=body))
    got = [await store.claim("w", T0 + timedelta(seconds=5), 60) for _ in bodies]
    assert [d.body if d else None for d in got] == bodies
    unrelated = Delivery("d-x", "ping", None, b"{}", T0)
    await store.enqueue(unrelated)
    assert await store.claim("w", T0 + timedelta(seconds=5), 60) == Delivery(
        "d-x", "ping", None, b"{}", T0, 1)


async def test_claim_takes_oldest_due_and_leases_it(store: Store) -> None:
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


async def test_retry_later_complete_and_states(store: Store) -> None:
    await store.enqueue(delivery(1))
    await store.claim("w", T0, 60)
    await store.retry_later("d-1", "HTTP 502", T0 + timedelta(seconds=30))
    assert await store.claim("w", T0 + timedelta(seconds=29), 60) is None
    d = await store.claim("w", T0 + timedelta(seconds=30), 60)
    assert d is not None and d.attempts == 2
    state = await store.delivery_state("d-1")
    assert state is not None and (state.state, state.attempts, state.last_error) == (
        "pending", 2, "HTTP 502")
    assert state.received_at == T0
    await store.complete("d-1", T0 + timedelta(seconds=31))
    state = await store.delivery_state("d-1")
    assert state is not None and state.state == "done"
    await store.retry_later("d-1", "late", T0 + timedelta(seconds=40))  # finished: no effect
    assert (await store.delivery_state("d-1")).state == "done"  # type: ignore[union-attr]
    assert await store.claim("w", T0 + timedelta(days=1), 60) is None
    assert await store.delivery_state("nope") is None


async def test_dead_letters_are_kept_listed_and_can_be_requeued(store: Store) -> None:
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
    assert await store.requeue("nope", T0) is False
    later = T0 + timedelta(hours=1)
    first = await store.claim("w", later, 60)
    assert first is not None and first.delivery_id == "d-2"  # older due time first
    requeued = await store.claim("w", later, 60)
    assert requeued is not None and (requeued.delivery_id, requeued.attempts) == ("d-1", 1)


async def test_dead_letters_newest_first_and_limited(store: Store) -> None:
    for n in range(1, 4):
        await store.enqueue(delivery(n))
        await store.dead_letter(f"d-{n}", f"e{n}", T0)
    assert [d.delivery_id for d in await store.dead_letters(limit=2)] == ["d-3", "d-2"]


async def test_queue_stats_when_idle_and_with_future_retries(store: Store) -> None:
    assert await store.queue_stats(T0) == {"pending": 0.0, "due": 0.0, "dead": 0.0,
                                           "oldest_age_seconds": 0.0, "oldest_due_seconds": 0.0}
    await store.enqueue(delivery(1))
    await store.claim("w", T0, 300)
    stats = await store.queue_stats(T0 + timedelta(seconds=10))
    assert stats == {"pending": 1.0, "due": 0.0, "dead": 0.0,
                     "oldest_age_seconds": 10.0, "oldest_due_seconds": 0.0}


async def test_prune_forgets_old_finished_work_but_keeps_dead_letters(store: Store) -> None:
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


async def test_remember_event_and_event_seen(store: Store) -> None:
    assert not await store.event_seen("workflow_run:1:1:failure")
    assert await store.remember_event("workflow_run:1:1:failure", T0) is True
    assert await store.remember_event("workflow_run:1:1:failure", T0) is False
    assert await store.remember_event("workflow_run:1:2:failure", T0) is True
    assert await store.event_seen("workflow_run:1:1:failure")
    assert not await store.event_seen("workflow_run:1:3:failure")


async def test_naive_times_are_refused(store: Store) -> None:
    naive = datetime(2026, 1, 1)
    with pytest.raises(ValueError, match="timezone-aware"):
        await store.enqueue(delivery(1, at=naive))
    with pytest.raises(ValueError, match="timezone-aware"):
        await store.claim("w", naive, 60)


async def test_ping(store: Store) -> None:
    assert await store.ping() is True


# --- leases -----------------------------------------------------------------------

async def test_a_lease_has_one_holder_until_it_expires_or_is_released(
    open_another: OpenStore,
) -> None:
    one, two = await open_another(), await open_another()  # two replicas on one database
    assert await one.try_lease("sweep", "a", T0, 60)
    assert not await two.try_lease("sweep", "b", T0 + timedelta(seconds=59), 60)
    assert await one.try_lease("sweep", "a", T0 + timedelta(seconds=30), 60)  # renewed
    assert not await two.try_lease("sweep", "b", T0 + timedelta(seconds=89), 60)
    assert await two.try_lease("sweep", "b", T0 + timedelta(seconds=90), 60)  # expired
    await one.release_lease("sweep", "a")  # not a's any more: no effect
    assert not await one.try_lease("sweep", "a", T0 + timedelta(seconds=91), 60)
    await two.release_lease("sweep", "b")
    assert await one.try_lease("sweep", "a", T0 + timedelta(seconds=92), 60)
    assert await one.try_lease("other", "b", T0, 60)  # names are independent


async def test_racing_replicas_get_a_lease_once(open_another: OpenStore) -> None:
    stores = [await open_another() for _ in range(6)]
    won = await asyncio.gather(*(s.try_lease("sla", f"r{i}", T0, 30)
                                 for i, s in enumerate(stores)))
    assert sorted(won) == [False] * 5 + [True]


# --- incidents ---------------------------------------------------------------------

async def test_incident_lookups(store: Store) -> None:
    first = incident(1, issue_number=41)
    assert await store.insert_incident(first) is True
    assert await store.get_incident("INC-2026-0001") == first
    assert await store.open_incident_for(first.fingerprint) == first
    assert await store.incident_for_issue("acme/api", 41) == first
    assert await store.incident_for_issue("acme/api", 42) is None
    assert await store.incident_for_issue("acme/other", 41) is None
    assert await store.latest_incident_for(first.fingerprint) == first
    assert await store.latest_incident_for("unknown") is None
    assert await store.get_incident("INC-2026-0404") is None


async def test_documents_round_trip_untrusted_text_exactly(store: Store) -> None:
    text = "NUL \x00, quote \", backslash \\, emoji \U0001f525, RTL \u202e, <!-- x -->"
    entry = TimelineEntry(T0, "octocat", "detected", text, key="k\x00")
    hostile = incident(1, title=text, timeline=(entry,))
    assert await store.insert_incident(hostile) is True
    assert await store.get_incident(hostile.id) == hostile
    saved = hostile.replace(subject=text * 2, version=2)
    assert await store.save_incident(saved) is True
    assert await store.get_incident(hostile.id) == saved


async def test_one_open_incident_per_fingerprint(store: Store) -> None:
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
    assert await store.get_incident("INC-2026-0001") == closed


async def test_save_incident_checks_the_version(store: Store) -> None:
    await store.insert_incident(incident(1))
    v2 = incident(1, severity="high", version=2)
    assert await store.save_incident(v2) is True
    assert await store.save_incident(incident(1, severity="low", version=2)) is False  # stale
    assert await store.save_incident(incident(1, version=4)) is False  # skipped one
    assert await store.get_incident("INC-2026-0001") == v2
    assert await store.save_incident(incident(9, version=1)) is False  # never inserted


async def test_issue_lookup_follows_the_saved_issue_number(store: Store) -> None:
    await store.insert_incident(incident(1))
    assert await store.incident_for_issue("acme/api", 7) is None
    await store.save_incident(incident(1, issue_number=7, version=2))
    assert (await store.incident_for_issue("acme/api", 7)).version == 2  # type: ignore[union-attr]


async def test_incident_numbers_count_up_across_stores(open_another: OpenStore) -> None:
    one = await open_another()
    assert [await one.next_incident_number() for _ in range(3)] == [1, 2, 3]
    await one.close()
    two = await open_another()
    assert await two.next_incident_number() == 4


async def test_everything_persists_across_stores(open_another: OpenStore) -> None:
    one = await open_another()
    await one.enqueue(delivery(1))
    await one.insert_incident(incident(1))
    await one.remember_event("k", T0)
    await one.try_lease("sweep", "a", T0, 60)
    await one.close()
    two = await open_another()
    d = await two.claim("w", T0, 60)
    assert d is not None and d.body == BODY
    assert await two.get_incident("INC-2026-0001") == incident(1)
    assert await two.remember_event("k", T0) is False
    assert not await two.try_lease("sweep", "b", T0, 60)


# --- several stores at once (as several replicas would be) ---------------------------

async def test_racing_inserts_open_exactly_one_incident(open_another: OpenStore) -> None:
    stores = [await open_another() for _ in range(8)]
    results = await asyncio.gather(*(s.insert_incident(incident(i + 1))
                                     for i, s in enumerate(stores)))
    assert sorted(results) == [False] * 7 + [True]
    assert len(await stores[0].list_incidents(open_only=False)) == 1


async def test_racing_saves_let_one_version_win(open_another: OpenStore) -> None:
    stores = [await open_another() for _ in range(5)]
    await stores[0].insert_incident(incident(1))
    results = await asyncio.gather(*(
        s.save_incident(incident(1, subject=f"by {i}", version=2)) for i, s in enumerate(stores)))
    assert sorted(results) == [False] * 4 + [True]
    winner = results.index(True)
    assert (await stores[0].get_incident("INC-2026-0001")).subject == f"by {winner}"  # type: ignore[union-attr]


async def test_racing_claims_hand_each_delivery_to_one_worker(open_another: OpenStore) -> None:
    first = await open_another()
    for n in range(60):
        await first.enqueue(delivery(n, T0 + timedelta(milliseconds=n)))
    stores = [first, *[await open_another() for _ in range(3)]]

    async def drain(i: int, store: Store) -> list[str]:
        got = []
        while (d := await store.claim(f"w{i}", T0 + timedelta(seconds=1), 300)) is not None:
            got.append(d.delivery_id)
            assert d.attempts == 1
        return got

    results = await asyncio.gather(*(drain(i, s) for i, s in enumerate(stores)))
    claimed = [d for got in results for d in got]
    assert sorted(claimed) == sorted(f"d-{n}" for n in range(60))


async def test_racing_incident_numbers_are_unique(open_another: OpenStore) -> None:
    stores = [await open_another() for _ in range(4)]
    numbers = await asyncio.gather(*(s.next_incident_number() for s in stores for _ in range(10)))
    assert sorted(numbers) == list(range(1, 41))
