"""Durable storage: the delivery queue and the incident records."""

from __future__ import annotations

from watchkeeper.store.base import Delivery, DeliveryState, Store

__all__ = ["Delivery", "DeliveryState", "Store", "StoreUnavailable", "open_store"]


class StoreUnavailable(RuntimeError):
    """The DATABASE_URL names a store this build cannot open."""


def open_store(database_url: str, **options: object) -> Store:
    """``sqlite:///relative.db``, ``sqlite:////abs/path.db``, ``sqlite:///:memory:``."""
    if database_url.startswith("sqlite:///"):
        from watchkeeper.store.sqlite import SqliteStore

        path = database_url[len("sqlite:///"):]
        if not path:
            raise StoreUnavailable("DATABASE_URL: sqlite:/// needs a file path")
        return SqliteStore(path, **options)  # type: ignore[arg-type]
    if database_url.startswith(("postgresql://", "postgres://")):
        raise StoreUnavailable(
            "DATABASE_URL: the PostgreSQL store is not available yet; use sqlite:///path.db"
        )
    raise StoreUnavailable("DATABASE_URL: unsupported scheme (expected sqlite:/// or postgresql://)")
