"""Durable storage: the delivery queue and the incident records."""

from __future__ import annotations

from watchkeeper.store.base import Delivery, DeliveryState, Store

__all__ = ["Delivery", "DeliveryState", "Store", "StoreUnavailable", "open_store"]


class StoreUnavailable(RuntimeError):
    """The DATABASE_URL names a store this build cannot open."""


def open_store(database_url: str, **options: object) -> Store:
    """``sqlite:///relative.db``, ``sqlite:////abs/path.db``, ``sqlite:///:memory:``, or
    ``postgresql://user@host/dbname`` (libpq's URL form; the store connects lazily)."""
    if database_url.startswith("sqlite:///"):
        from watchkeeper.store.sqlite import SqliteStore

        path = database_url[len("sqlite:///"):]
        if not path:
            raise StoreUnavailable("DATABASE_URL: sqlite:/// needs a file path")
        return SqliteStore(path, **options)  # type: ignore[arg-type]
    if database_url.startswith(("postgresql://", "postgres://")):
        try:
            from watchkeeper.store.postgres import PostgresStore
        except ImportError as exc:  # psycopg is an optional dependency
            raise StoreUnavailable(
                "DATABASE_URL: the PostgreSQL store needs psycopg and psycopg-pool"
                " (install watchkeeper[postgres])"
            ) from exc
        return PostgresStore(database_url, **options)  # type: ignore[arg-type]
    raise StoreUnavailable("DATABASE_URL: unsupported scheme (expected sqlite:/// or postgresql://)")
