"""The embedded store: one SQLite file holds the delivery queue and the incidents.

WAL mode with synchronous=NORMAL: a committed row survives the process being
killed (only power loss can take the last transactions) and a commit costs no
fsync. Delivery bodies are stored zlib-compressed (one page instead of six).

By default every statement runs on one store thread (see sqlite_runner): the
event loop keeps parsing requests while SQLite writes, and deliveries arriving
together are committed together. ``threaded=False`` runs statements on the
caller's thread instead, for tools and tests. Either way one connection serves
one store, so statements never interleave inside a transaction; several stores
(processes) on one file coordinate through SQLite's locks.

Incidents are JSON documents (record.incident_to_json) with the few columns the
queries need mirrored beside them; a partial unique index allows one open
incident per fingerprint, and ``version`` gives optimistic concurrency.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any, TypeVar

from watchkeeper.record import Incident, incident_from_json, incident_to_json
from watchkeeper.store.base import Delivery, DeliveryState
from watchkeeper.store.sqlite_runner import DirectRunner, ThreadRunner, unpack
from watchkeeper.store.sqlite_schema import migrate

T = TypeVar("T")
_DAY = 86400.0
_EVENT_KEEP_DAYS = 30.0
_CACHED_RECORDS = 2048


def _ts(when: datetime) -> float:
    if when.tzinfo is None:
        raise ValueError("store times must be timezone-aware")
    return when.timestamp()


def _dt(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, UTC)


class SqliteStore:
    def __init__(
        self,
        path: str,
        *,
        threaded: bool = True,
        busy_timeout_ms: int = 5000,
    ) -> None:
        self.path = path
        self._conn = sqlite3.connect(
            path, isolation_level=None, check_same_thread=False, timeout=busy_timeout_ms / 1000
        )
        self._conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
        self._conn.execute("PRAGMA synchronous = NORMAL")
        if path != ":memory:":
            self._conn.execute("PRAGMA journal_mode = WAL")
            self._conn.execute("PRAGMA journal_size_limit = 67108864")
        self.schema_version = migrate(self._conn)
        self._runner: ThreadRunner | DirectRunner = (
            ThreadRunner(self._conn, wal=path != ":memory:") if threaded
            else DirectRunner(self._conn)
        )
        self._closed = False
        self._cache: dict[tuple[str, int], Incident] = {}  # used on the store's thread only

    async def _call(self, fn: Callable[..., T], *args: Any) -> T:
        return await self._runner.call(fn, *args)

    def _exec(self, sql: str, params: tuple[Any, ...] = ()) -> sqlite3.Cursor:
        return self._conn.execute(sql, params)

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[None]:
        self._conn.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self._conn.execute("ROLLBACK")
            raise
        self._conn.execute("COMMIT")

    # --- delivery queue -------------------------------------------------------------

    async def enqueue(self, delivery: Delivery) -> bool:
        if delivery.received_at.tzinfo is None:
            raise ValueError("store times must be timezone-aware")
        return await self._runner.insert_delivery(delivery)

    async def claim(self, worker: str, now: datetime, lease_seconds: float) -> Delivery | None:
        t = _ts(now)
        row = await self._call(self._claim, worker, t, t + lease_seconds)
        if row is None:
            return None
        delivery_id, event, action, body, encoding, received_at, attempts = row
        return Delivery(
            delivery_id, event, action, unpack(body, encoding), _dt(received_at), attempts
        )

    def _claim(self, worker: str, now: float, lease_until: float) -> tuple[Any, ...] | None:
        rows = self._conn.execute(
            "UPDATE deliveries SET available_at = ?, attempts = attempts + 1, claimed_by = ?"
            " WHERE seq = (SELECT seq FROM deliveries WHERE state = 'pending'"
            "  AND available_at <= ? ORDER BY available_at, seq LIMIT 1)"
            " RETURNING delivery_id, event, action, body, encoding, received_at, attempts",
            (lease_until, worker, now),
        ).fetchall()
        return tuple(rows[0]) if rows else None

    async def complete(self, delivery_id: str, now: datetime) -> None:
        await self._call(
            self._exec,
            "UPDATE deliveries SET state = 'done', finished_at = ?, claimed_by = NULL"
            " WHERE delivery_id = ?",
            (_ts(now), delivery_id),
        )

    async def retry_later(self, delivery_id: str, error: str, not_before: datetime) -> None:
        await self._call(
            self._exec,
            "UPDATE deliveries SET available_at = ?, last_error = ?, claimed_by = NULL"
            " WHERE delivery_id = ? AND state = 'pending'",
            (_ts(not_before), error[:2000], delivery_id),
        )

    async def dead_letter(self, delivery_id: str, error: str, now: datetime) -> None:
        await self._call(
            self._exec,
            "UPDATE deliveries SET state = 'dead', last_error = ?, finished_at = ?,"
            " claimed_by = NULL WHERE delivery_id = ?",
            (error[:2000], _ts(now), delivery_id),
        )

    async def requeue(self, delivery_id: str, now: datetime) -> bool:
        cur = await self._call(
            self._exec,
            "UPDATE deliveries SET state = 'pending', available_at = ?, attempts = 0,"
            " finished_at = NULL, claimed_by = NULL WHERE delivery_id = ? AND state != 'pending'",
            (_ts(now), delivery_id),
        )
        return cur.rowcount == 1

    async def queue_stats(self, now: datetime) -> dict[str, float]:
        return await self._call(self._queue_stats, _ts(now))

    def _queue_stats(self, now: float) -> dict[str, float]:
        pending, oldest, due, first_due = self._conn.execute(
            "SELECT COUNT(*), MIN(received_at), TOTAL(available_at <= ?),"
            " MIN(available_at) FROM deliveries WHERE state = 'pending'",
            (now,),
        ).fetchone()
        (dead,) = self._conn.execute(
            "SELECT COUNT(*) FROM deliveries WHERE state = 'dead'"
        ).fetchone()
        return {
            "pending": float(pending),
            "due": float(due),
            "dead": float(dead),
            "oldest_age_seconds": max(0.0, now - oldest) if oldest is not None else 0.0,
            "oldest_due_seconds": max(0.0, now - first_due) if first_due is not None else 0.0,
        }

    async def ping(self) -> bool:
        try:
            row = await self._call(lambda: self._conn.execute("SELECT 1").fetchone())
        except sqlite3.Error:
            return False
        return bool(row == (1,))

    async def delivery_state(self, delivery_id: str) -> DeliveryState | None:
        rows = await self._call(self._states, "WHERE delivery_id = ?", (delivery_id,))
        return rows[0] if rows else None

    async def dead_letters(self, limit: int = 100) -> list[DeliveryState]:
        return await self._call(
            self._states, "WHERE state = 'dead' ORDER BY seq DESC LIMIT ?", (limit,)
        )

    def _states(self, where: str, params: tuple[Any, ...]) -> list[DeliveryState]:
        rows = self._conn.execute(
            "SELECT delivery_id, event, action, state, attempts, received_at, last_error"
            f" FROM deliveries {where}",
            params,
        ).fetchall()
        return [
            DeliveryState(d, e, a, s, n, _dt(r), err) for d, e, a, s, n, r, err in rows
        ]

    async def prune(self, now: datetime, keep_days: float = 8) -> int:
        return await self._call(self._prune, _ts(now), keep_days)

    def _prune(self, now: float, keep_days: float) -> int:
        cutoff = now - keep_days * _DAY
        with self._transaction():
            gone = self._conn.execute(
                "DELETE FROM deliveries WHERE state = 'done' AND finished_at < ?", (cutoff,)
            ).rowcount
            # Replay keys outlive delivery IDs: a signal can come back under a new delivery.
            gone += self._conn.execute(
                "DELETE FROM events WHERE seen_at < ?",
                (now - max(keep_days, _EVENT_KEEP_DAYS) * _DAY,),
            ).rowcount
        return gone

    # --- replay protection ----------------------------------------------------------

    async def remember_event(self, key: str, now: datetime) -> bool:
        cur = await self._call(
            self._exec,
            "INSERT INTO events (key, seen_at) VALUES (?, ?) ON CONFLICT (key) DO NOTHING",
            (key, _ts(now)),
        )
        return cur.rowcount == 1

    async def event_seen(self, key: str) -> bool:
        row = await self._call(
            lambda: self._conn.execute("SELECT 1 FROM events WHERE key = ?", (key,)).fetchone()
        )
        return row is not None

    # --- leases ---------------------------------------------------------------------

    async def try_lease(self, name: str, holder: str, now: datetime, ttl: float) -> bool:
        t = _ts(now)
        cur = await self._call(
            self._exec,
            "INSERT INTO leases (name, holder, expires_at) VALUES (?, ?, ?)"
            " ON CONFLICT (name) DO UPDATE SET holder = excluded.holder,"
            " expires_at = excluded.expires_at"
            " WHERE leases.holder = excluded.holder OR leases.expires_at <= ?",
            (name, holder, t + ttl, t),
        )
        return cur.rowcount == 1

    async def release_lease(self, name: str, holder: str) -> None:
        await self._call(self._exec, "DELETE FROM leases WHERE name = ? AND holder = ?",
                         (name, holder))

    # --- incidents ------------------------------------------------------------------

    async def next_incident_number(self) -> int:
        row = await self._call(
            lambda: self._conn.execute(
                "INSERT INTO counters (name, value) VALUES ('incident', 1)"
                " ON CONFLICT (name) DO UPDATE SET value = value + 1 RETURNING value"
            ).fetchall()[0]
        )
        return int(row[0])

    async def insert_incident(self, incident: Incident) -> bool:
        try:
            await self._call(
                self._exec,
                "INSERT INTO incidents (id, fingerprint, is_open, tracker_repo, issue_number,"
                " version, doc) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (incident.id, *_columns(incident), incident_to_json(incident)),
            )
        except sqlite3.IntegrityError as exc:
            if "incidents.fingerprint" in str(exc):
                return False
            raise
        return True

    async def save_incident(self, incident: Incident) -> bool:
        fingerprint, is_open, tracker, issue, version = _columns(incident)
        try:
            cur = await self._call(
                self._exec,
                "UPDATE incidents SET fingerprint = ?, is_open = ?, tracker_repo = ?,"
                " issue_number = ?, version = ?, doc = ? WHERE id = ? AND version = ?",
                (fingerprint, is_open, tracker, issue, version, incident_to_json(incident),
                 incident.id, version - 1),
            )
        except sqlite3.IntegrityError:
            return False  # reopening while another incident holds the fingerprint
        return cur.rowcount == 1

    async def get_incident(self, incident_id: str) -> Incident | None:
        return await self._one("WHERE id = ?", (incident_id,))

    async def open_incident_for(self, fingerprint: str) -> Incident | None:
        return await self._one("WHERE fingerprint = ? AND is_open = 1", (fingerprint,))

    async def latest_incident_for(self, fingerprint: str) -> Incident | None:
        return await self._one("WHERE fingerprint = ? ORDER BY seq DESC LIMIT 1", (fingerprint,))

    async def incident_for_issue(self, repo: str, number: int) -> Incident | None:
        return await self._one(
            "WHERE tracker_repo = ? AND issue_number = ? ORDER BY seq DESC LIMIT 1",
            (repo, number),
        )

    async def list_incidents(self, *, open_only: bool = True) -> list[Incident]:
        where = "WHERE is_open = 1 ORDER BY seq" if open_only else "ORDER BY seq"
        return await self._call(self._incidents, where, ())

    async def _one(self, where: str, params: tuple[Any, ...]) -> Incident | None:
        found = await self._call(self._incidents, where, params)
        return found[0] if found else None

    def _incidents(self, where: str, params: tuple[Any, ...]) -> list[Incident]:
        rows = self._conn.execute(f"SELECT id, version, doc FROM incidents {where}",
                                  params).fetchall()
        return [self._decoded(incident_id, version, doc) for incident_id, version, doc in rows]

    def _decoded(self, incident_id: str, version: int, doc: str) -> Incident:
        """Records are immutable per (id, version): decoding a busy incident's growing
        document once instead of on every delivery that looks at open incidents."""
        key = (incident_id, version)
        found = self._cache.get(key)
        if found is None:
            found = self._cache[key] = incident_from_json(doc)
            if len(self._cache) > _CACHED_RECORDS:
                del self._cache[next(iter(self._cache))]
        return found

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._runner.close()
        self._conn.close()


def _columns(incident: Incident) -> tuple[Any, ...]:
    """The indexed columns mirrored from the document."""
    is_open = 1 if incident.status != "closed" else 0
    return (incident.fingerprint, is_open, incident.tracker_repo, incident.issue_number,
            incident.version)

