"""The store's contract, shared by SQLite (embedded default) and PostgreSQL (replicas)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from watchkeeper.record import Incident


@dataclass(frozen=True, slots=True)
class Delivery:
    delivery_id: str
    event: str
    action: str | None
    body: bytes
    received_at: datetime
    attempts: int = 0  # attempts started so far, this one included once claimed


@dataclass(frozen=True, slots=True)
class DeliveryState:
    """A stored delivery as seen by an operator (no body): for dead letters and checks."""

    delivery_id: str
    event: str
    action: str | None
    state: str  # "pending" | "done" | "dead"
    attempts: int
    received_at: datetime
    last_error: str | None = None


class Store(Protocol):
    # --- delivery queue -----------------------------------------------------------
    async def enqueue(self, delivery: Delivery) -> bool:
        """Store durably; False when this delivery ID is already known."""

    async def claim(self, worker: str, now: datetime, lease_seconds: float) -> Delivery | None:
        """Take the oldest due delivery (lease expired or never claimed)."""

    async def complete(self, delivery_id: str, now: datetime) -> None: ...

    async def retry_later(
        self, delivery_id: str, error: str, not_before: datetime
    ) -> None: ...

    async def dead_letter(self, delivery_id: str, error: str, now: datetime) -> None: ...

    async def queue_stats(self, now: datetime) -> dict[str, float]:
        """pending, due, dead, oldest_age_seconds (oldest pending since receipt),
        oldest_due_seconds (how long the most overdue pending delivery has waited)."""

    async def ping(self) -> bool: ...

    async def delivery_state(self, delivery_id: str) -> DeliveryState | None: ...

    async def dead_letters(self, limit: int = 100) -> list[DeliveryState]: ...

    async def requeue(self, delivery_id: str, now: datetime) -> bool:
        """Make a dead (or finished) delivery due again with fresh attempts."""

    async def prune(self, now: datetime, keep_days: float = 8) -> int:
        """Forget finished deliveries and replay keys older than keep_days; dead ones stay."""

    # --- replay protection ----------------------------------------------------------
    async def remember_event(self, key: str, now: datetime) -> bool:
        """Record an event identity; False when it was seen before."""

    async def event_seen(self, key: str) -> bool:
        """Whether `remember_event` recorded the key (and `prune` has not dropped it yet)."""

    # --- leases -----------------------------------------------------------------------
    async def try_lease(self, name: str, holder: str, now: datetime, ttl: float) -> bool:
        """Take or renew the named lease until now + ttl seconds; False while another
        holder's lease on it has not expired. Atomic across processes and replicas."""

    async def release_lease(self, name: str, holder: str) -> None:
        """Give the lease up early (only if `holder` still holds it)."""

    # --- incidents ------------------------------------------------------------------
    async def next_incident_number(self) -> int: ...

    async def insert_incident(self, incident: Incident) -> bool:
        """False when another open incident already holds the fingerprint."""

    async def save_incident(self, incident: Incident) -> bool:
        """Write if the stored version equals incident.version - 1; False on conflict."""

    async def get_incident(self, incident_id: str) -> Incident | None: ...

    async def open_incident_for(self, fingerprint: str) -> Incident | None: ...

    async def latest_incident_for(self, fingerprint: str) -> Incident | None:
        """The most recently inserted incident for the fingerprint, open or closed."""

    async def incident_for_issue(self, repo: str, number: int) -> Incident | None: ...

    async def list_incidents(self, *, open_only: bool = True) -> list[Incident]: ...

    async def close(self) -> None: ...
