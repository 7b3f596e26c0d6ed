""""Next release": the repository's next open milestone with a due date. Pure.

The runbook gives low-severity incidents until the next release for a permanent fix.
Watchkeeper takes the release to be the open milestone due soonest, not before the
incident was detected (a milestone already overdue then is not the release that will
ship the fix). No such milestone: no deadline, and the SLA section says so.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol


class MilestoneLike(Protocol):
    @property
    def title(self) -> str: ...

    @property
    def state(self) -> str: ...

    @property
    def due_on(self) -> datetime | None: ...


@dataclass(frozen=True, slots=True)
class Release:
    title: str
    due: datetime


def next_release(milestones: Iterable[MilestoneLike], detected_at: datetime) -> Release | None:
    candidates = [m for m in milestones
                  if m.state == "open" and m.due_on is not None and m.due_on >= detected_at]
    if not candidates:
        return None
    first = min(candidates, key=lambda m: (m.due_on, m.title))
    assert first.due_on is not None
    return Release(first.title, first.due_on)
