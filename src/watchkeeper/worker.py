"""The worker: claims stored deliveries, runs the processor, and owns every retry.

At-least-once: a delivery is leased when claimed and finished only after the
processor returns, so a crash or restart leaves it to be claimed again once
the lease runs out. Failures are retried with exponential backoff that never
comes earlier than the server asked (``retry_after``); after ``max_attempts``
the delivery is dead-lettered, kept in the store and logged at ERROR.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time
import uuid
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from datetime import datetime, timedelta

from watchkeeper.clock import Clock
from watchkeeper.errors import PermanentError, RetryableError
from watchkeeper.logs import bind, scrub
from watchkeeper.store.base import Delivery, Store

Processor = Callable[[Delivery], Awaitable[None]]
ContextFactory = Callable[[], AbstractAsyncContextManager[object]]

log = logging.getLogger(__name__)


class Worker:
    def __init__(
        self,
        store: Store,
        processor: Processor,
        clock: Clock,
        *,
        max_attempts: int = 8,
        base_backoff: float = 2.0,
        max_backoff: float = 900.0,
        lease_seconds: float = 300,
        poll_interval: float = 1.0,
        context_factory: ContextFactory | None = None,
        concurrency: int = 1,
        name: str | None = None,
        prune_every: float | None = 3600.0,
        on_dead_letter: Callable[[Delivery, str], None] | None = None,
    ) -> None:
        self._store = store
        self._busy: Callable[[], bool] | None = None  # see give_way_to
        self._give_way_at_most = 0.05
        self._processor = processor
        self._clock = clock
        self.max_attempts = max_attempts
        self.base_backoff = base_backoff
        self.max_backoff = max_backoff
        self.lease_seconds = lease_seconds
        self.poll_interval = poll_interval
        self._context_factory = context_factory
        self.prune_every = prune_every  # seconds between store.prune() passes; None: never
        self._on_dead_letter = on_dead_letter  # e.g. a metrics counter; must not raise
        self.concurrency = max(1, concurrency)
        self.name = name or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._wake = asyncio.Event()
        self._stopped = asyncio.Event()
        self._stopping = False
        self.running = False
        self.last_progress: datetime | None = None  # last claim, finish or idle poll

    def notify(self) -> None:
        """New work was stored: wake the loop now instead of at the next poll."""
        self._wake.set()

    async def stop(self) -> None:
        """Ask ``run`` to return after the deliveries in hand are finished."""
        self._stopping = True
        self._stopped.set()
        self._wake.set()

    async def run(self) -> None:
        """Process deliveries until ``stop`` (which may come first); the context factory wraps
        each slot's loop."""
        self.running = True
        log.info("worker %s started (concurrency %d)", self.name, self.concurrency)
        try:
            async with asyncio.TaskGroup() as group:
                for slot in range(self.concurrency):
                    group.create_task(self._slot(), name=f"worker-slot-{slot}")
                if self.prune_every:
                    group.create_task(self._prune_loop(self.prune_every), name="worker-prune")
        finally:
            self.running = False
            log.info("worker %s stopped", self.name)

    async def _slot(self) -> None:
        """Each slot enters the context itself: the GitHub session binds its HTTP clients to
        the task that entered it, and a slot is a task of its own (entered once around all
        slots, every call would build a new client, TLS setup and all)."""
        context = self._context_factory() if self._context_factory else contextlib.nullcontext()
        async with context:
            await self._loop()

    async def run_once(self) -> int:
        """Process every delivery due now, one at a time; returns how many were handled."""
        handled = 0
        while (delivery := await self._claim()) is not None:
            await self._handle(delivery)
            handled += 1
        return handled

    def give_way_to(self, busy: Callable[[], bool], *, at_most: float = 0.05) -> None:
        """Before each claim, wait (up to `at_most` seconds) while `busy()` is true: the
        webhook endpoint answering requests goes first; processing only lags a little."""
        self._busy = busy
        self._give_way_at_most = at_most

    async def _give_way(self) -> None:
        busy = self._busy
        if busy is None:
            return
        deadline = time.monotonic() + self._give_way_at_most
        while busy() and time.monotonic() < deadline:
            await asyncio.sleep(0.001)

    async def _loop(self) -> None:
        while not self._stopping:
            self._wake.clear()
            await self._give_way()
            try:
                delivery = await self._claim()
            except Exception:
                log.exception("worker could not claim a delivery; retrying")
                delivery = None
            if delivery is None:
                self.last_progress = self._clock.now()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self.poll_interval)
                continue
            try:
                await self._handle(delivery)
            except Exception:
                # The store failed while recording the outcome; the lease brings it back.
                log.exception("worker could not record the outcome of a delivery")
                await asyncio.sleep(self.poll_interval)
            await asyncio.sleep(0)  # a backlog must not starve the webhook endpoint

    async def _prune_loop(self, every: float) -> None:
        """Forget finished deliveries past GitHub's redelivery window (dead ones stay)."""
        while not self._stopping:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopped.wait(), every)
            if self._stopping:
                return
            try:
                removed = await self._store.prune(self._clock.now())
            except Exception:
                log.exception("pruning the store failed")
            else:
                log.debug("pruned %d finished deliveries and replay keys", removed)

    async def _claim(self) -> Delivery | None:
        delivery = await self._store.claim(self.name, self._clock.now(), self.lease_seconds)
        if delivery is not None:
            self.last_progress = self._clock.now()
        return delivery

    async def _handle(self, delivery: Delivery) -> None:
        with bind(delivery_id=delivery.delivery_id, event=delivery.event):
            try:
                await self._dispatch(delivery)
            finally:
                self.last_progress = self._clock.now()

    async def _dispatch(self, delivery: Delivery) -> None:
        if delivery.attempts > self.max_attempts:
            # Only a lease that expired again and again gets here: the process died
            # while handling this delivery, so running it once more may kill it again.
            await self._dead(delivery, "attempts exhausted (the process stopped while handling it)")
            return
        try:
            await self._processor(delivery)
        except asyncio.CancelledError:
            # Shutting down mid-delivery: make it due again right away for the next start.
            with contextlib.suppress(Exception):
                await self._store.retry_later(
                    delivery.delivery_id, "interrupted by shutdown", self._clock.now()
                )
            raise
        except PermanentError as exc:
            await self._dead(delivery, _describe(exc))
        except RetryableError as exc:
            await self._retry(delivery, _describe(exc), exc.retry_after)
        except Exception as exc:
            log.exception(
                "delivery %s (%s) failed on attempt %d",
                delivery.delivery_id, delivery.event, delivery.attempts,
            )
            await self._retry(delivery, _describe(exc), None)
        else:
            await self._store.complete(delivery.delivery_id, self._clock.now())
            log.debug("delivery %s (%s) processed", delivery.delivery_id, delivery.event)

    def backoff(self, attempts: int, retry_after: float | None = None) -> float:
        """Seconds to wait after the given number of failed attempts."""
        delay = min(self.max_backoff, self.base_backoff * 2.0 ** max(0, attempts - 1))
        if retry_after is not None and retry_after > delay:
            delay = retry_after  # the server's word wins, even past max_backoff
        return delay

    async def _retry(self, delivery: Delivery, error: str, retry_after: float | None) -> None:
        if delivery.attempts >= self.max_attempts:
            await self._dead(delivery, f"attempts exhausted; last error: {error}")
            return
        delay = self.backoff(delivery.attempts, retry_after)
        not_before = self._clock.now() + timedelta(seconds=delay)
        await self._store.retry_later(delivery.delivery_id, error, not_before)
        log.warning(
            "delivery %s (%s) attempt %d/%d failed, retrying in %.1fs: %s",
            delivery.delivery_id, delivery.event, delivery.attempts, self.max_attempts,
            delay, error,
        )

    async def _dead(self, delivery: Delivery, error: str) -> None:
        await self._store.dead_letter(delivery.delivery_id, error, self._clock.now())
        log.error(
            "DEAD LETTER: delivery %s (%s, action %s) after %d attempt(s) is kept for "
            "inspection and will not be retried: %s",
            delivery.delivery_id, delivery.event, delivery.action, delivery.attempts, error,
        )
        if self._on_dead_letter is not None:
            try:
                self._on_dead_letter(delivery, error)
            except Exception:
                log.exception("the dead-letter hook failed")


def _describe(exc: BaseException) -> str:
    text = str(exc).strip().replace("\n", " ")
    return scrub(f"{type(exc).__name__}: {text}" if text else type(exc).__name__)[:2000]
