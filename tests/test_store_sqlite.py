"""SqliteStore specifics: compression on disk, WAL, migrations, several connections and
processes on one file. The semantics shared with PostgreSQL are in test_store_contract.py."""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from tests.store_support import BODY, T0, delivery, incident

from watchkeeper.store import StoreUnavailable, open_store
from watchkeeper.store.postgres import PostgresStore
from watchkeeper.store.sqlite import SqliteStore
from watchkeeper.store.sqlite_schema import MIGRATIONS


async def test_bodies_are_stored_compressed_when_it_pays(tmp_path: Path) -> None:
    store = SqliteStore(str(tmp_path / "wk.db"))
    try:
        await store.enqueue(delivery(1, body=os.urandom(3000)))
        await store.enqueue(delivery(2, T0))
        raw = sqlite3.connect(store.path).execute(
            "SELECT delivery_id, encoding, length(body) FROM deliveries ORDER BY seq").fetchall()
    finally:
        await store.close()
    assert raw[0] == ("d-1", "identity", 3000)
    assert raw[1][:2] == ("d-2", "zlib") and raw[1][2] < len(BODY) / 10

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
    for url in ("postgresql://db/wk", "postgres://wk@db:5433/wk?sslmode=require"):
        remote = open_store(url)  # connects on first use
        assert isinstance(remote, PostgresStore) and remote.url == url
        await remote.close()
    with pytest.raises(StoreUnavailable, match="unsupported scheme"):
        open_store("mysql://db/wk")
