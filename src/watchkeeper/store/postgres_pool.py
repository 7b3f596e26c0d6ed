"""The PostgreSQL store's connections: a pool opened lazily, migrated once, and
statements retried once when the server dropped their connection.

The pool opens on first use, inside the event loop that uses it (the store is built
before the server's loop exists), and applies the migrations before anything else:
a store object belongs to one event loop. A statement that meets a broken connection
(the server restarted, an idle connection was cut) runs again on a fresh one.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

import psycopg
from psycopg import AsyncConnection, sql
from psycopg.conninfo import conninfo_to_dict
from psycopg_pool import AsyncConnectionPool

from watchkeeper.store.postgres_schema import migrate

T = TypeVar("T")
Conn = AsyncConnection[Any]


class Database:
    """One pool per store; ``execute`` and ``rows`` run a single autocommit statement."""

    def __init__(
        self,
        url: str,
        *,
        schema: str | None = None,
        min_size: int = 1,
        max_size: int = 10,
        timeout: float = 10.0,
    ) -> None:
        self.url = url
        self.schema = schema
        self.schema_version: int | None = None
        self._min_size, self._max_size, self._timeout = min_size, max_size, timeout
        self._pool: AsyncConnectionPool[Conn] | None = None
        self._opening = asyncio.Lock()
        self._closed = False

    async def ready(self) -> AsyncConnectionPool[Conn]:
        """The open pool: connected and migrated on first use."""
        if self._pool is not None:
            return self._pool
        if self._closed:
            raise RuntimeError("the store is closed")
        async with self._opening:
            if self._pool is None:
                kwargs: dict[str, Any] = {"autocommit": True}
                if "application_name" not in conninfo_to_dict(self.url):
                    kwargs["application_name"] = "watchkeeper"  # for pg_stat_activity
                pool: AsyncConnectionPool[Conn] = AsyncConnectionPool(
                    self.url, min_size=self._min_size, max_size=self._max_size,
                    timeout=self._timeout, kwargs=kwargs,
                    configure=self._configure, open=False, name="watchkeeper",
                )
                try:
                    await pool.open(wait=True, timeout=self._timeout)
                    async with pool.connection() as conn:
                        self.schema_version = await migrate(conn, self.schema)
                except BaseException:
                    await pool.close()
                    raise
                self._pool = pool
        return self._pool

    async def _configure(self, conn: Conn) -> None:
        if self.schema is not None:
            await conn.execute(
                sql.SQL("SET search_path TO {}").format(sql.Identifier(self.schema)))

    async def run(self, work: Callable[[Conn], Awaitable[T]]) -> T:
        """``work`` on a pooled connection; again on a fresh one if that one was dead."""
        pool = await self.ready()
        async with pool.connection() as conn:
            try:
                return await work(conn)
            except psycopg.OperationalError:
                if not conn.broken:
                    raise
        await pool.check()  # drop the other dead connections too
        async with pool.connection() as conn:
            return await work(conn)

    async def execute(self, query: str, params: Sequence[Any] = ()) -> int:
        async def work(conn: Conn) -> int:
            cur = await conn.execute(query.encode(), params)
            return cur.rowcount
        return await self.run(work)

    async def rows(self, query: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        async def work(conn: Conn) -> list[tuple[Any, ...]]:
            cur = await conn.execute(query.encode(), params)
            return await cur.fetchall()
        return await self.run(work)

    async def close(self) -> None:
        self._closed = True
        pool, self._pool = self._pool, None
        if pool is not None:
            await pool.close()
