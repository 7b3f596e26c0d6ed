"""The replicas' store: the delivery queue and the incidents in one PostgreSQL database.

Same contract as the SQLite store, for several Watchkeeper processes sharing one
database. Claims take the oldest due delivery with ``FOR UPDATE SKIP LOCKED``, so
replicas never wait on (or take) each other's deliveries; a partial unique index
keeps one open incident per fingerprint; ``version`` gives optimistic concurrency;
a sequence numbers incidents; leases are rows updated atomically by upsert.

Every statement runs in autocommit on a pooled connection (one statement, one
durable commit) except the few that need a transaction; postgres_pool.py opens the
pool lazily and retries a statement that met a broken connection. Every statement
is safe to repeat (a repeated insert reports "already there", which callers
already handle as a race lost).

PostgreSQL text cannot hold NUL characters: NULs in the short text columns
(event, action, keys, fingerprints, errors) are stored as U+FFFD. Incident
documents and delivery bodies are stored exactly.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
from psycopg import errors

from watchkeeper.record import Incident, incident_from_json, incident_to_json
from watchkeeper.store.base import Delivery, DeliveryState
from watchkeeper.store.postgres_pool import Conn, Database

_EVENT_KEEP_DAYS = 30.0
_DECODED_KEEP = 256  # decoded incident documents kept (most recently used)
_DELIVERY = "delivery_id, event, action, state, attempts, received_at, last_error"


def _at(when: datetime) -> datetime:
    if when.tzinfo is None:
        raise ValueError("store times must be timezone-aware")
    return when


def _utc(when: datetime) -> datetime:
    return when.astimezone(UTC)


def _clean(text: str) -> str:
    return text.replace("\x00", "\ufffd")


def _maybe(text: str | None) -> str | None:
    return None if text is None else _clean(text)


class PostgresStore:
    def __init__(
        self,
        url: str,
        *,
        schema: str | None = None,
        min_size: int = 1,
        max_size: int = 10,
        timeout: float = 10.0,
    ) -> None:
        """``schema``: keep the tables in this schema (created if missing) instead of the
        connection's default one. ``timeout``: seconds to wait for a pooled connection."""
        self.url = url
        self.db = Database(url, schema=schema, min_size=min_size, max_size=max_size,
                           timeout=timeout)
        self._exec, self._rows, self._run = self.db.execute, self.db.rows, self.db.run
        self._decoded: OrderedDict[str, Incident] = OrderedDict()

    @property
    def schema_version(self) -> int | None:
        return self.db.schema_version

    async def open(self) -> None:
        """Connect and migrate now (otherwise the first call does it)."""
        await self.db.ready()

    async def close(self) -> None:
        await self.db.close()

    # --- delivery queue -------------------------------------------------------------

    async def enqueue(self, delivery: Delivery) -> bool:
        received = _at(delivery.received_at)
        return await self._exec(
            "INSERT INTO deliveries (delivery_id, event, action, body, received_at,"
            " available_at) VALUES (%s, %s, %s, %s, %s, %s)"
            " ON CONFLICT (delivery_id) DO NOTHING",
            (_clean(delivery.delivery_id), _clean(delivery.event), _maybe(delivery.action),
             delivery.body, received, received),
        ) == 1

    async def claim(self, worker: str, now: datetime, lease_seconds: float) -> Delivery | None:
        rows = await self._rows(
            "UPDATE deliveries SET available_at = %s, attempts = attempts + 1, claimed_by = %s"
            " WHERE seq = (SELECT seq FROM deliveries WHERE state = 'pending'"
            "  AND available_at <= %s ORDER BY available_at, seq LIMIT 1 FOR UPDATE SKIP LOCKED)"
            " RETURNING delivery_id, event, action, body, received_at, attempts",
            (_at(now) + timedelta(seconds=lease_seconds), _clean(worker), now),
        )
        if not rows:
            return None
        delivery_id, event, action, body, received_at, attempts = rows[0]
        return Delivery(delivery_id, event, action, bytes(body), _utc(received_at), attempts)

    async def complete(self, delivery_id: str, now: datetime) -> None:
        await self._exec(
            "UPDATE deliveries SET state = 'done', finished_at = %s, claimed_by = NULL"
            " WHERE delivery_id = %s",
            (_at(now), _clean(delivery_id)),
        )

    async def retry_later(self, delivery_id: str, error: str, not_before: datetime) -> None:
        await self._exec(
            "UPDATE deliveries SET available_at = %s, last_error = %s, claimed_by = NULL"
            " WHERE delivery_id = %s AND state = 'pending'",
            (_at(not_before), _clean(error[:2000]), _clean(delivery_id)),
        )

    async def dead_letter(self, delivery_id: str, error: str, now: datetime) -> None:
        await self._exec(
            "UPDATE deliveries SET state = 'dead', last_error = %s, finished_at = %s,"
            " claimed_by = NULL WHERE delivery_id = %s",
            (_clean(error[:2000]), _at(now), _clean(delivery_id)),
        )

    async def requeue(self, delivery_id: str, now: datetime) -> bool:
        return await self._exec(
            "UPDATE deliveries SET state = 'pending', available_at = %s, attempts = 0,"
            " finished_at = NULL, claimed_by = NULL WHERE delivery_id = %s AND state <> 'pending'",
            (_at(now), _clean(delivery_id)),
        ) == 1

    async def queue_stats(self, now: datetime) -> dict[str, float]:
        rows = await self._rows(
            "SELECT COUNT(*), MIN(received_at), COUNT(*) FILTER (WHERE available_at <= %s),"
            " MIN(available_at), (SELECT COUNT(*) FROM deliveries WHERE state = 'dead')"
            " FROM deliveries WHERE state = 'pending'",
            (_at(now),),
        )
        pending, oldest, due, first_due, dead = rows[0]

        def age(since: datetime | None) -> float:
            return max(0.0, (now - since).total_seconds()) if since is not None else 0.0

        return {"pending": float(pending), "due": float(due), "dead": float(dead),
                "oldest_age_seconds": age(oldest), "oldest_due_seconds": age(first_due)}

    async def ping(self) -> bool:
        try:
            return await self._rows("SELECT 1") == [(1,)]
        except (psycopg.Error, OSError):
            return False

    async def delivery_state(self, delivery_id: str) -> DeliveryState | None:
        rows = await self._rows(
            f"SELECT {_DELIVERY} FROM deliveries WHERE delivery_id = %s", (_clean(delivery_id),))
        return _state(rows[0]) if rows else None

    async def dead_letters(self, limit: int = 100) -> list[DeliveryState]:
        rows = await self._rows(
            f"SELECT {_DELIVERY} FROM deliveries WHERE state = 'dead' ORDER BY seq DESC LIMIT %s",
            (limit,))
        return [_state(row) for row in rows]

    async def prune(self, now: datetime, keep_days: float = 8) -> int:
        cutoff = _at(now) - timedelta(days=keep_days)
        # Replay keys outlive delivery IDs: a signal can come back under a new delivery.
        keys_cutoff = now - timedelta(days=max(keep_days, _EVENT_KEEP_DAYS))

        async def work(conn: Conn) -> int:
            async with conn.transaction():
                done = await conn.execute(
                    "DELETE FROM deliveries WHERE state = 'done' AND finished_at < %s", (cutoff,))
                keys = await conn.execute("DELETE FROM events WHERE seen_at < %s", (keys_cutoff,))
            return done.rowcount + keys.rowcount
        return await self._run(work)

    # --- replay protection ----------------------------------------------------------

    async def remember_event(self, key: str, now: datetime) -> bool:
        return await self._exec(
            "INSERT INTO events (key, seen_at) VALUES (%s, %s) ON CONFLICT (key) DO NOTHING",
            (_clean(key), _at(now)),
        ) == 1

    async def event_seen(self, key: str) -> bool:
        return bool(await self._rows("SELECT 1 FROM events WHERE key = %s", (_clean(key),)))

    # --- leases ---------------------------------------------------------------------

    async def try_lease(self, name: str, holder: str, now: datetime, ttl: float) -> bool:
        return await self._exec(
            "INSERT INTO leases (name, holder, expires_at) VALUES (%s, %s, %s)"
            " ON CONFLICT (name) DO UPDATE SET holder = excluded.holder,"
            " expires_at = excluded.expires_at"
            " WHERE leases.holder = excluded.holder OR leases.expires_at <= %s",
            (_clean(name), _clean(holder), _at(now) + timedelta(seconds=ttl), now),
        ) == 1

    async def release_lease(self, name: str, holder: str) -> None:
        await self._exec("DELETE FROM leases WHERE name = %s AND holder = %s",
                         (_clean(name), _clean(holder)))

    # --- incidents ------------------------------------------------------------------

    async def next_incident_number(self) -> int:
        rows = await self._rows("SELECT nextval('incident_number')")
        return int(rows[0][0])

    async def insert_incident(self, incident: Incident) -> bool:
        try:
            await self._exec(
                "INSERT INTO incidents (id, fingerprint, is_open, tracker_repo, issue_number,"
                " version, doc) VALUES (%s, %s, %s, %s, %s, %s, %s)",
                (_clean(incident.id), *_columns(incident), incident_to_json(incident)),
            )
        except errors.UniqueViolation as exc:
            if exc.diag.constraint_name == "incidents_one_open":
                return False
            raise
        return True

    async def save_incident(self, incident: Incident) -> bool:
        fingerprint, is_open, tracker, issue, version = _columns(incident)
        try:
            changed = await self._exec(
                "UPDATE incidents SET fingerprint = %s, is_open = %s, tracker_repo = %s,"
                " issue_number = %s, version = %s, doc = %s WHERE id = %s AND version = %s",
                (fingerprint, is_open, tracker, issue, version, incident_to_json(incident),
                 _clean(incident.id), version - 1),
            )
        except errors.UniqueViolation:
            return False  # reopening while another incident holds the fingerprint
        return changed == 1

    async def get_incident(self, incident_id: str) -> Incident | None:
        return await self._one("WHERE id = %s", (_clean(incident_id),))

    async def open_incident_for(self, fingerprint: str) -> Incident | None:
        return await self._one("WHERE fingerprint = %s AND is_open", (_clean(fingerprint),))

    async def latest_incident_for(self, fingerprint: str) -> Incident | None:
        return await self._one("WHERE fingerprint = %s ORDER BY seq DESC LIMIT 1",
                               (_clean(fingerprint),))

    async def incident_for_issue(self, repo: str, number: int) -> Incident | None:
        return await self._one(
            "WHERE tracker_repo = %s AND issue_number = %s ORDER BY seq DESC LIMIT 1",
            (_clean(repo), number),
        )

    async def list_incidents(self, *, open_only: bool = True) -> list[Incident]:
        where = "WHERE is_open ORDER BY seq" if open_only else "ORDER BY seq"
        return await self._incidents(where, ())

    async def _one(self, where: str, params: Sequence[Any]) -> Incident | None:
        found = await self._incidents(where, params)
        return found[0] if found else None

    async def _incidents(self, where: str, params: Sequence[Any]) -> list[Incident]:
        rows = await self._rows(f"SELECT doc FROM incidents {where}", params)
        return [self._decode(doc) for (doc,) in rows]

    def _decode(self, doc: str) -> Incident:
        """Decoding is most of a lookup's cost and features list the open incidents for
        every event: records are immutable, so one decoded per document text is shared."""
        found = self._decoded.get(doc)
        if found is not None:
            self._decoded.move_to_end(doc)
            return found
        incident = self._decoded[doc] = incident_from_json(doc)
        if len(self._decoded) > _DECODED_KEEP:
            self._decoded.popitem(last=False)
        return incident


def _state(row: tuple[Any, ...]) -> DeliveryState:
    delivery_id, event, action, state, attempts, received_at, error = row
    return DeliveryState(delivery_id, event, action, state, attempts, _utc(received_at), error)


def _columns(incident: Incident) -> tuple[Any, ...]:
    """The indexed columns mirrored from the document."""
    return (_clean(incident.fingerprint), incident.status != "closed",
            _clean(incident.tracker_repo), incident.issue_number, incident.version)
