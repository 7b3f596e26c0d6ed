"""PostgresStore specifics: migrations under concurrent starts, SKIP LOCKED claims,
reconnecting after the server drops connections, text PostgreSQL cannot hold. The
semantics shared with SQLite are in test_store_contract.py."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from datetime import timedelta

import psycopg
import pytest
from psycopg import sql
from tests.store_support import T0, delivery, incident

from watchkeeper.store.base import Delivery
from watchkeeper.store.postgres import PostgresStore
from watchkeeper.store.postgres_schema import MIGRATIONS


@pytest.fixture
async def store(postgres_url: str, pg_schema: str) -> AsyncIterator[PostgresStore]:
    s = PostgresStore(postgres_url, schema=pg_schema)
    await s.open()
    yield s
    await s.close()


def admin(postgres_url: str, schema: str) -> psycopg.Connection[tuple[object, ...]]:
    conn = psycopg.connect(postgres_url, autocommit=True)
    conn.execute(sql.SQL("SET search_path TO {}").format(sql.Identifier(schema)))
    return conn


async def test_replicas_starting_together_migrate_once(postgres_url: str, pg_schema: str) -> None:
    stores = [PostgresStore(postgres_url, schema=pg_schema) for _ in range(8)]
    try:
        await asyncio.gather(*(s.open() for s in stores))
        assert {s.schema_version for s in stores} == {len(MIGRATIONS)}
    finally:
        for s in stores:
            await s.close()
    with admin(postgres_url, pg_schema) as conn:
        versions = conn.execute("SELECT version FROM schema_version ORDER BY version").fetchall()
        tables = conn.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = %s"
            " ORDER BY table_name", (pg_schema,)).fetchall()
    assert versions == [(v,) for v in range(1, len(MIGRATIONS) + 1)]
    assert [t for (t,) in tables] == [
        "deliveries", "events", "incidents", "leases", "schema_version"]


async def test_a_newer_schema_is_refused(postgres_url: str, pg_schema: str) -> None:
    await PostgresStore(postgres_url, schema=pg_schema).open()
    with admin(postgres_url, pg_schema) as conn:
        conn.execute("INSERT INTO schema_version (version) VALUES (99)")
    newer = PostgresStore(postgres_url, schema=pg_schema)
    with pytest.raises(RuntimeError, match="schema version 99 is newer"):
        await newer.enqueue(delivery(1))
    with pytest.raises(RuntimeError, match="schema version 99 is newer"):
        await newer.open()  # still refused: nothing half-open is kept
    await newer.close()


async def test_claim_skips_a_delivery_another_replica_holds_locked(
    store: PostgresStore, postgres_url: str, pg_schema: str,
) -> None:
    await store.enqueue(delivery(1))
    await store.enqueue(delivery(2, T0 + timedelta(seconds=1)))
    with admin(postgres_url, pg_schema) as other, other.transaction():
        other.execute("SELECT 1 FROM deliveries WHERE delivery_id = 'd-1' FOR UPDATE")
        got = await asyncio.wait_for(store.claim("w", T0 + timedelta(seconds=5), 60), 5)
        assert got is not None and got.delivery_id == "d-2"  # did not wait for d-1's lock
        assert await store.claim("w", T0 + timedelta(seconds=5), 60) is None
    again = await store.claim("w", T0 + timedelta(seconds=5), 60)
    assert again is not None and (again.delivery_id, again.attempts) == ("d-1", 1)


async def test_statements_survive_the_server_dropping_connections(
    store: PostgresStore, postgres_url: str,
) -> None:
    await store.enqueue(delivery(1))
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        killed = conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE application_name = 'watchkeeper' AND datname = current_database()"
        ).fetchall()
    assert killed and all(ok for (ok,) in killed)
    assert await store.enqueue(delivery(2)) is True  # retried on a fresh connection
    assert await store.ping() is True
    assert (await store.queue_stats(T0))["pending"] == 2.0


async def test_text_postgresql_cannot_hold_is_stored_replaced(store: PostgresStore) -> None:
    odd = Delivery("d-\x00", "workflow\x00run", "comp\x00leted", b'{"a":"\\u0000"}', T0)
    assert await store.enqueue(odd) is True
    got = await store.claim("w\x00", T0, 60)
    assert got == Delivery("d-\ufffd", "workflow\ufffdrun", "comp\ufffdleted",
                           b'{"a":"\\u0000"}', T0, 1)
    await store.retry_later("d-\x00", "bad \x00 byte", T0)
    state = await store.delivery_state("d-\x00")
    assert state is not None and state.last_error == "bad \ufffd byte"
    assert await store.remember_event("key\x00", T0) is True
    assert await store.event_seen("key\x00")
    assert await store.try_lease("sweep\x00", "a\x00", T0, 60)
    hostile = incident(1, fingerprint="fp\x00", tracker_repo="acme/api\x00")
    assert await store.insert_incident(hostile) is True
    assert await store.open_incident_for("fp\x00") == hostile  # the document is exact
    assert await store.incident_for_issue("acme/api\x00", 0) is None


async def test_an_unreachable_server_fails_ping_and_calls_quickly() -> None:
    with socket.socket() as s:  # a closed port on loopback
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    store = PostgresStore(f"postgresql://wk@127.0.0.1:{port}/wk?connect_timeout=1", timeout=0.5)
    try:
        assert await store.ping() is False
        with pytest.raises(psycopg.OperationalError):
            await store.enqueue(delivery(1))
    finally:
        await store.close()


async def test_decoded_records_are_shared_but_never_stale(
    store: PostgresStore, postgres_url: str, pg_schema: str,
) -> None:
    await store.insert_incident(incident(1))
    first, again = await store.list_incidents(), await store.list_incidents()
    assert first == [incident(1)] and first[0] is again[0]  # decoded once
    changed = incident(1, title="changed elsewhere", version=2)
    other = PostgresStore(postgres_url, schema=pg_schema)
    try:
        assert await other.save_incident(changed) is True  # another replica writes
    finally:
        await other.close()
    assert await store.get_incident("INC-2026-0001") == changed
    assert await store.list_incidents() == [changed]
