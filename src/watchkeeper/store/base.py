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
    attempts: int = 0


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
        """pending, dead, oldest_age_seconds."""

    async def ping(self) -> bool: ...

    # --- replay protection ----------------------------------------------------------
    async def remember_event(self, key: str, now: datetime) -> bool:
        """Record an event identity; False when it was seen before."""

    # --- incidents ------------------------------------------------------------------
    async def next_incident_number(self) -> int: ...

    async def insert_incident(self, incident: Incident) -> bool:
        """False when another open incident already holds the fingerprint."""

    async def save_incident(self, incident: Incident) -> bool:
        """Write if the stored version equals incident.version - 1; False on conflict."""

    async def get_incident(self, incident_id: str) -> Incident | None: ...

    async def open_incident_for(self, fingerprint: str) -> Incident | None: ...

    async def incident_for_issue(self, repo: str, number: int) -> Incident | None: ...

    async def list_incidents(self, *, open_only: bool = True) -> list[Incident]: ...

    async def close(self) -> None: ...
