"""Worker: completion, retries with backoff that honours retry_after, dead letters, restarts."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextvars import ContextVar
from datetime import UTC, datetime

import pytest

from watchkeeper.clock import FrozenClock
from watchkeeper.errors import PermanentError, RetryableError
from watchkeeper.store.base import Delivery
from watchkeeper.store.sqlite import SqliteStore
from watchkeeper.worker import Worker

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


class Script:
    """A processor that replays a list of outcomes (None = success) and records calls."""

    def __init__(self, *outcomes: BaseException | None) -> None:
        self.outcomes = list(outcomes)
        self.calls: list[tuple[str, int]] = []

    async def __call__(self, delivery: Delivery) -> None:
        self.calls.append((delivery.delivery_id, delivery.attempts))
        outcome = self.outcomes.pop(0) if self.outcomes else None
        if outcome is not None:
            raise outcome


@pytest.fixture
async def store() -> AsyncIterator[SqliteStore]:
    s = SqliteStore(":memory:")
    yield s
    await s.close()


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(T0)


async def _enqueue(store: SqliteStore, n: int = 1, at: datetime = T0) -> None:
    await store.enqueue(Delivery(f"d-{n}", "workflow_run", "completed", b'{"n":%d}' % n, at))


async def test_success_completes_the_delivery(store: SqliteStore, clock: FrozenClock) -> None:
    await _enqueue(store)
    script = Script()
    assert await Worker(store, script, clock).run_once() == 1
    assert script.calls == [("d-1", 1)]
    assert (await store.delivery_state("d-1")).state == "done"  # type: ignore[union-attr]
    assert await Worker(store, script, clock).run_once() == 0


def test_backoff_schedule() -> None:
    w = Worker(None, Script(), FrozenClock(T0), base_backoff=2, max_backoff=900)  # type: ignore[arg-type]
    assert [w.backoff(n) for n in range(1, 12)] == [2, 4, 8, 16, 32, 64, 128, 256, 512, 900, 900]
    assert w.backoff(1, retry_after=120) == 120  # never earlier than the server asked
    assert w.backoff(5, retry_after=3) == 32  # ... but never earlier than our own backoff
    assert w.backoff(1, retry_after=3600) == 3600  # even past max_backoff


async def test_retryable_error_waits_for_retry_after(
    store: SqliteStore, clock: FrozenClock
) -> None:
    await _enqueue(store)
    script = Script(RetryableError("rate limited", retry_after=120))
    worker = Worker(store, script, clock)
    await worker.run_once()
    state = await store.delivery_state("d-1")
    assert state is not None and (state.state, state.last_error) == (
        "pending", "RetryableError: rate limited")
    clock.advance(119)
    assert await worker.run_once() == 0
    clock.advance(1)
    assert await worker.run_once() == 1
    assert script.calls == [("d-1", 1), ("d-1", 2)]
    assert (await store.delivery_state("d-1")).state == "done"  # type: ignore[union-attr]


async def test_unknown_errors_are_logged_with_traceback_and_retried_with_backoff(
    store: SqliteStore, clock: FrozenClock, caplog: pytest.LogCaptureFixture
) -> None:
    await _enqueue(store)
    script = Script(KeyError("boom"), TimeoutError(), None)
    worker = Worker(store, script, clock, base_backoff=2)
    with caplog.at_level(logging.WARNING, logger="watchkeeper.worker"):
        await worker.run_once()
    failure = next(r for r in caplog.records if r.levelno == logging.ERROR)
    assert failure.exc_info is not None and "d-1" in failure.getMessage()
    clock.advance(1.9)
    assert await worker.run_once() == 0
    clock.advance(0.1)  # first backoff: 2 s
    assert await worker.run_once() == 1
    clock.advance(3.9)
    assert await worker.run_once() == 0
    clock.advance(0.1)  # second backoff: 4 s
    assert await worker.run_once() == 1
    assert [a for _, a in script.calls] == [1, 2, 3]
    assert (await store.delivery_state("d-1")).state == "done"  # type: ignore[union-attr]


async def test_permanent_error_dead_letters_loudly(
    store: SqliteStore, clock: FrozenClock, caplog: pytest.LogCaptureFixture
) -> None:
    await _enqueue(store)
    with caplog.at_level(logging.ERROR, logger="watchkeeper.worker"):
        await Worker(store, Script(PermanentError("payload has no repository")), clock).run_once()
    state = await store.delivery_state("d-1")
    assert state is not None and (state.state, state.last_error) == (
        "dead", "PermanentError: payload has no repository")
    [record] = [r for r in caplog.records if r.levelno == logging.ERROR]
    message = record.getMessage()
    assert message.startswith("DEAD LETTER: delivery d-1 (workflow_run, action completed)")
    assert "payload has no repository" in message
    assert [d.delivery_id for d in await store.dead_letters()] == ["d-1"]


async def test_attempts_are_bounded(store: SqliteStore, clock: FrozenClock) -> None:
    await _enqueue(store)
    script = Script(*[RetryableError("502")] * 10)
    worker = Worker(store, script, clock, max_attempts=3, base_backoff=1)
    for _ in range(5):
        await worker.run_once()
        clock.advance(3600)
    assert script.calls == [("d-1", 1), ("d-1", 2), ("d-1", 3)]
    state = await store.delivery_state("d-1")
    assert state is not None and state.state == "dead"
    assert state.last_error == "attempts exhausted; last error: RetryableError: 502"


async def test_a_restart_resumes_unfinished_work_after_the_lease(
    store: SqliteStore, clock: FrozenClock
) -> None:
    await _enqueue(store)
    crashed = await store.claim("old-process", clock.now(), 300)  # claimed, then killed
    assert crashed is not None
    script = Script()
    fresh = Worker(store, script, clock, lease_seconds=300)
    assert await fresh.run_once() == 0
    clock.advance(300)
    assert await fresh.run_once() == 1
    assert script.calls == [("d-1", 2)]


async def test_a_delivery_that_keeps_killing_the_process_is_dead_lettered(
    store: SqliteStore, clock: FrozenClock
) -> None:
    await _enqueue(store)
    for _ in range(3):  # three processes died while handling it
        assert await store.claim("gone", clock.now(), 300) is not None
        clock.advance(300)
    script = Script()
    await Worker(store, script, clock, max_attempts=3).run_once()
    assert script.calls == []
    state = await store.delivery_state("d-1")
    assert state is not None and state.state == "dead" and state.attempts == 4


async def test_notify_wakes_the_loop_and_stop_ends_it(
    store: SqliteStore, clock: FrozenClock
) -> None:
    seen = asyncio.Event()

    async def processor(delivery: Delivery) -> None:
        seen.set()

    worker = Worker(store, processor, clock, poll_interval=30)
    task = asyncio.create_task(worker.run())
    for _ in range(100):
        if worker.running:
            break
        await asyncio.sleep(0.001)
    await asyncio.sleep(0.01)  # the loop is now waiting out its 30 s poll
    await _enqueue(store)
    worker.notify()
    await asyncio.wait_for(seen.wait(), 2)
    await worker.stop()
    await asyncio.wait_for(task, 2)
    assert worker.running is False
    assert (await store.delivery_state("d-1")).state == "done"  # type: ignore[union-attr]


async def test_context_factory_wraps_the_loop(store: SqliteStore, clock: FrozenClock) -> None:
    session: ContextVar[str | None] = ContextVar("session", default=None)
    seen: list[str | None] = []

    @contextlib.asynccontextmanager
    async def open_session() -> AsyncIterator[None]:
        token = session.set("github-client")
        try:
            yield
        finally:
            session.reset(token)

    async def processor(delivery: Delivery) -> None:
        seen.append(session.get())

    await _enqueue(store)
    worker = Worker(store, processor, clock, context_factory=open_session, concurrency=2)
    task = asyncio.create_task(worker.run())
    for _ in range(200):
        if seen:
            break
        await asyncio.sleep(0.005)
    await worker.stop()
    await asyncio.wait_for(task, 2)
    assert seen == ["github-client"]


async def test_slots_process_concurrently(store: SqliteStore, clock: FrozenClock) -> None:
    gate = asyncio.Event()
    running: list[str] = []

    async def processor(delivery: Delivery) -> None:
        running.append(delivery.delivery_id)
        await gate.wait()

    for n in range(3):
        await _enqueue(store, n)
    worker = Worker(store, processor, clock, concurrency=3)
    task = asyncio.create_task(worker.run())
    for _ in range(200):
        if len(running) == 3:
            break
        await asyncio.sleep(0.005)
    assert sorted(running) == ["d-0", "d-1", "d-2"]
    gate.set()
    await worker.stop()
    await asyncio.wait_for(task, 2)
    assert (await store.queue_stats(clock.now()))["pending"] == 0


async def test_shutdown_mid_delivery_makes_it_due_again(
    store: SqliteStore, clock: FrozenClock
) -> None:
    started = asyncio.Event()

    async def processor(delivery: Delivery) -> None:
        started.set()
        await asyncio.sleep(3600)

    await _enqueue(store)
    worker = Worker(store, processor, clock, lease_seconds=300)
    task = asyncio.create_task(worker.run())
    await asyncio.wait_for(started.wait(), 2)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    again = await store.claim("next-start", clock.now(), 300)  # no 5-minute wait
    assert again is not None and again.delivery_id == "d-1"


async def test_the_worker_prunes_finished_deliveries_now_and_then(
    store: SqliteStore, clock: FrozenClock
) -> None:
    await _enqueue(store)
    worker = Worker(store, Script(), clock, prune_every=0.01, poll_interval=0.01)
    assert await worker.run_once() == 1
    clock.advance(9 * 86400)  # past GitHub's redelivery window
    task = asyncio.create_task(worker.run())
    for _ in range(200):
        if await store.delivery_state("d-1") is None:
            break
        await asyncio.sleep(0.005)
    await worker.stop()
    await asyncio.wait_for(task, 2)
    assert await store.delivery_state("d-1") is None



async def _processed_within(script: Script, seconds: float) -> bool:
    for _ in range(int(seconds / 0.01)):
        if script.calls:
            return True
        await asyncio.sleep(0.01)
    return bool(script.calls)


async def test_the_worker_gives_way_while_webhooks_are_being_answered(
    store: SqliteStore, clock: FrozenClock
) -> None:
    script = Script()
    worker = Worker(store, script, clock, poll_interval=0.01)
    busy = {"now": True}
    worker.give_way_to(lambda: busy["now"], at_most=5.0)
    await _enqueue(store)
    task = asyncio.create_task(worker.run())
    try:
        assert not await _processed_within(script, 0.1)  # requests in flight: it waits
        busy["now"] = False
        assert await _processed_within(script, 2.0)
    finally:
        await worker.stop()
        await asyncio.wait_for(task, 2)


async def test_giving_way_is_bounded(store: SqliteStore, clock: FrozenClock) -> None:
    script = Script()
    worker = Worker(store, script, clock, poll_interval=0.01)
    worker.give_way_to(lambda: True, at_most=0.02)  # a storm that never pauses
    await _enqueue(store)
    task = asyncio.create_task(worker.run())
    try:
        assert await _processed_within(script, 2.0)
    finally:
        await worker.stop()
        await asyncio.wait_for(task, 2)
