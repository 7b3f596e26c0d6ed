"""The store's named leases and remembered keys (used by the SLA sweep and weekly review)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from watchkeeper.store.sqlite import SqliteStore

T0 = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)


async def test_a_lease_has_one_holder_until_it_expires_or_is_released(tmp_path: Path) -> None:
    path = str(tmp_path / "wk.db")
    one, two = SqliteStore(path), SqliteStore(path)  # two replicas on one database
    try:
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
    finally:
        await one.close()
        await two.close()


async def test_remembered_keys_can_be_checked(tmp_path: Path) -> None:
    store = SqliteStore(str(tmp_path / "wk.db"))
    try:
        assert not await store.event_seen("review:7:acme/sec:2026-W49")
        assert await store.remember_event("review:7:acme/sec:2026-W49", T0)
        assert await store.event_seen("review:7:acme/sec:2026-W49")
    finally:
        await store.close()
