"""Story time: real seconds from a chosen start, jumping forward between the story's steps.

The demo plays a day and a half of incident response in seconds. A frozen clock would stop
the worker's retry backoff from ever coming due; this one keeps running at real speed (so
retries happen) and only jumps forward when the story says "an hour later".
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta


class StoryClock:
    def __init__(self, start: datetime, *, monotonic: Callable[[], float] = time.monotonic
                 ) -> None:
        if start.tzinfo is None:
            raise ValueError("the story's start must be timezone-aware")
        self._monotonic = monotonic
        self._base = start.astimezone(UTC)
        self._t0 = monotonic()

    def now(self) -> datetime:
        return self._base + timedelta(seconds=self._monotonic() - self._t0)

    def jump(self, to: datetime) -> datetime:
        """Move to ``to`` (never backwards: time already spent stays spent)."""
        if to > self.now():
            self._base, self._t0 = to.astimezone(UTC), self._monotonic()
        return self.now()
