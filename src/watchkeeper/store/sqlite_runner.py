"""How SQLite work reaches its connection: directly, or through one store thread.

The store thread exists for the webhook path. Storing a 20 KB delivery is
mostly page writes and a commit, which SQLite does with the GIL released; on
the store thread that work overlaps the event loop parsing the next request.
Inserts that queue up while one commit runs are written together in the next
transaction (group commit), and each waiting request is answered only after
the transaction holding its delivery has committed.
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
import sqlite3
import threading
import zlib
from collections.abc import Callable
from typing import Any, TypeVar

from watchkeeper.store.base import Delivery

T = TypeVar("T")

INSERT_DELIVERY = (
    "INSERT INTO deliveries (delivery_id, event, action, body, encoding, received_at,"
    " available_at) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (delivery_id) DO NOTHING"
)
_MAX_BATCH = 128
_OFF_LOOP_BYTES = 1 << 20


def pack(body: bytes) -> tuple[bytes, str]:
    """Webhook JSON shrinks about 7x at zlib level 1 (~35 us for 20 KB): a delivery then
    fits one database page instead of six, which is most of the cost of storing it."""
    packed = zlib.compress(body, 1)
    return (packed, "zlib") if len(packed) < len(body) else (body, "identity")


def unpack(body: bytes, encoding: str) -> bytes:
    if encoding == "zlib":
        return zlib.decompress(body)
    if encoding == "identity":
        return bytes(body)
    raise ValueError(f"unknown body encoding {encoding!r}")


def delivery_row(d: Delivery) -> tuple[Any, ...]:
    body, encoding = pack(d.body)
    received = d.received_at.timestamp()
    return (d.delivery_id, d.event, d.action, body, encoding, received, received)


class DirectRunner:
    """Runs statements on the caller's thread: simplest, fine for tests and tools."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    async def call(self, fn: Callable[..., T], *args: Any) -> T:
        return fn(*args)

    async def insert_delivery(self, delivery: Delivery) -> bool:
        if len(delivery.body) >= _OFF_LOOP_BYTES:  # compressing megabytes would stall the loop
            row = await asyncio.to_thread(delivery_row, delivery)
        else:
            row = delivery_row(delivery)
        return self._conn.execute(INSERT_DELIVERY, row).rowcount == 1

    def close(self) -> None:
        return None


class ThreadRunner:
    """Owns the connection from one thread; inserts are group-committed.

    Checkpoints (copying the WAL into the database file) run here too, in small
    steps at idle moments after answers have gone out, instead of SQLite's
    automatic one inside whichever commit crosses 1000 pages: a few hundred
    kilobytes at a time cost a webhook far less than four megabytes at once.
    """

    CHECKPOINT_IDLE = 64  # writes since the last checkpoint worth one at an idle moment
    CHECKPOINT_FORCE = 512  # ... worth one even while busy

    def __init__(self, conn: sqlite3.Connection, *, wal: bool = True) -> None:
        self._conn = conn
        self._wal = wal
        self._since_checkpoint = 0
        self._closed = False
        if wal:
            conn.execute("PRAGMA wal_autocheckpoint = 0")
        self._jobs: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="sqlite-store", daemon=True)
        self._thread.start()

    async def call(self, fn: Callable[..., T], *args: Any) -> T:
        result: T = await self._submit(False, (fn, args))
        return result

    async def insert_delivery(self, delivery: Delivery) -> bool:
        stored: bool = await self._submit(True, delivery)
        return stored

    def _submit(self, insert: bool, payload: Any) -> asyncio.Future[Any]:
        if self._closed:
            raise RuntimeError("the store is closed")
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        self._jobs.put(_Job(insert, payload, future, loop))
        return future

    def close(self) -> None:
        self._closed = True
        self._jobs.put(None)
        self._thread.join(timeout=30)
        if self._wal:
            with contextlib.suppress(sqlite3.Error):
                self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()

    def _run(self) -> None:
        while True:
            job = self._jobs.get()
            if job is None:
                return
            batch = [job]
            stop = False
            while len(batch) < _MAX_BATCH:
                try:
                    more = self._jobs.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    stop = True
                    break
                batch.append(more)
            self._execute(batch)
            if stop:
                return
            self._since_checkpoint += len(batch)
            if self._wal and (
                self._since_checkpoint >= self.CHECKPOINT_FORCE
                or (self._since_checkpoint >= self.CHECKPOINT_IDLE and self._jobs.empty())
            ):
                with contextlib.suppress(sqlite3.Error):
                    self._conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
                self._since_checkpoint = 0

    def _execute(self, batch: list[_Job]) -> None:
        i = 0
        while i < len(batch):
            if not batch[i].insert:
                job = batch[i]
                fn, args = job.payload
                try:
                    job.outcome = (True, fn(*args))
                except Exception as exc:
                    job.outcome = (False, exc)
                i += 1
                continue
            j = i
            while j < len(batch) and batch[j].insert:
                j += 1
            self._insert_group(batch[i:j])
            i = j
        by_loop: dict[asyncio.AbstractEventLoop, list[_Job]] = {}
        for job in batch:
            by_loop.setdefault(job.loop, []).append(job)
        for loop, jobs in by_loop.items():  # one wake-up per loop and batch
            with contextlib.suppress(RuntimeError):  # the loop is closed: nobody waits
                loop.call_soon_threadsafe(_settle_all, jobs)

    def _insert_group(self, group: list[_Job]) -> None:
        try:
            rows = [delivery_row(job.payload) for job in group]
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                stored = [self._conn.execute(INSERT_DELIVERY, row).rowcount == 1 for row in rows]
                self._conn.execute("COMMIT")
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
        except Exception as exc:
            for job in group:
                job.outcome = (False, exc)
            return
        for job, ok in zip(group, stored, strict=True):
            job.outcome = (True, ok)


def _settle_all(jobs: list[_Job]) -> None:
    for job in jobs:
        job.settle()


class _Job:
    __slots__ = ("future", "insert", "loop", "outcome", "payload")

    def __init__(
        self, insert: bool, payload: Any, future: asyncio.Future[Any],
        loop: asyncio.AbstractEventLoop,
    ) -> None:
        self.insert = insert
        self.payload = payload
        self.future = future
        self.loop = loop
        self.outcome: tuple[bool, Any] = (False, RuntimeError("not executed"))

    def settle(self) -> None:
        if self.future.done():  # the caller was cancelled; the work is done regardless
            return
        ok, value = self.outcome
        if ok:
            self.future.set_result(value)
        else:
            self.future.set_exception(value)
