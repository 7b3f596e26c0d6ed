"""Periodic jobs under a store lease: with several replicas, one runs a job at a time.

A `LeasedJob` takes (or renews) a named lease in the store before each run. The holder
that runs keeps renewing it; if it dies, another replica takes over once the lease
expires. Effects stay exactly-once even if two runs ever overlap (a lease outlived by
a slow run): every effect is keyed on the incident record, which the store versions.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import uuid
from collections.abc import Awaitable, Callable

from watchkeeper.clock import Clock
from watchkeeper.errors import RetryableError
from watchkeeper.store.base import Store

log = logging.getLogger(__name__)

MIN_LEASE_SECONDS = 120.0


def holder_name() -> str:
    """Unique per process (and per call): host, process and a random suffix."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class LeasedJob:
    def __init__(
        self,
        store: Store,
        clock: Clock,
        job: Callable[[], Awaitable[object]],
        *,
        name: str,
        interval: float,
        holder: str | None = None,
        ttl: float | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._store = store
        self._clock = clock
        self._job = job
        self.name = name
        self.interval = interval
        self.holder = holder or holder_name()
        # Long enough that a live holder renews well before it runs out.
        self.ttl = ttl if ttl is not None else max(3 * interval, MIN_LEASE_SECONDS)
        self._sleep = sleep

    async def tick(self) -> bool:
        """Run the job once if this holder gets the lease; True when it ran."""
        if not await self._store.try_lease(self.name, self.holder, self._clock.now(), self.ttl):
            log.debug("%s: lease held by another replica", self.name)
            return False
        await self._job()
        return True

    async def run(self) -> None:
        """Tick every `interval` seconds until cancelled; a failed run is logged, not fatal."""
        log.info("%s: every %gs as %s", self.name, self.interval, self.holder)
        try:
            while True:
                try:
                    await self.tick()
                except asyncio.CancelledError:
                    raise
                except RetryableError as exc:  # GitHub busy or unreachable: expected, brief
                    log.warning("%s: %s; trying again in %gs", self.name, exc, self.interval)
                except Exception:
                    log.exception("%s failed; trying again in %gs", self.name, self.interval)
                await self._sleep(self.interval)
        finally:
            try:
                await self._store.release_lease(self.name, self.holder)
            except Exception:  # shutting down with a store that is already closed
                log.debug("%s: could not release the lease", self.name, exc_info=True)
