"""The PostgreSQL schema as an ordered list of migrations, applied when a store opens.

Append new steps; never edit a released one. Replicas start together, so the whole
migration runs in one transaction under an advisory lock: the first starter applies
the steps, the others wait for it and then find nothing left to do.
"""

from __future__ import annotations

from psycopg import AsyncConnection, sql

# pg_advisory_xact_lock key: "WKSCHEMA" read as a big-endian 64-bit integer.
MIGRATION_LOCK = int.from_bytes(b"WKSCHEMA", "big")

MIGRATIONS: tuple[str, ...] = (
    # 1: delivery queue, replay keys, leases, the incident counter, incidents.
    """
    CREATE TABLE deliveries (
        seq          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        delivery_id  TEXT NOT NULL UNIQUE,
        event        TEXT NOT NULL,
        action       TEXT,
        body         BYTEA NOT NULL,  -- TOAST compresses large bodies
        received_at  TIMESTAMPTZ NOT NULL,
        state        TEXT NOT NULL DEFAULT 'pending'
                     CHECK (state IN ('pending', 'done', 'dead')),
        available_at TIMESTAMPTZ NOT NULL,  -- due time; a claim moves it to the lease's end
        attempts     INTEGER NOT NULL DEFAULT 0,
        claimed_by   TEXT,
        last_error   TEXT,
        finished_at  TIMESTAMPTZ
    );
    CREATE INDEX deliveries_due ON deliveries (available_at, seq) WHERE state = 'pending';
    CREATE INDEX deliveries_finished ON deliveries (finished_at) WHERE state = 'done';
    CREATE INDEX deliveries_dead ON deliveries (seq) WHERE state = 'dead';

    CREATE TABLE events (
        key     TEXT PRIMARY KEY,
        seen_at TIMESTAMPTZ NOT NULL
    );
    CREATE INDEX events_seen ON events (seen_at);

    CREATE TABLE leases (
        name       TEXT PRIMARY KEY,
        holder     TEXT NOT NULL,
        expires_at TIMESTAMPTZ NOT NULL
    );

    -- Numbers are never handed out twice, even across crashes (a crash may skip some).
    CREATE SEQUENCE incident_number;

    -- The document is JSON kept as text: jsonb refuses the \\u0000 escape, and payload
    -- text may carry one. Queries use the columns mirrored beside it.
    CREATE TABLE incidents (
        seq          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        id           TEXT NOT NULL UNIQUE,
        fingerprint  TEXT NOT NULL,
        is_open      BOOLEAN NOT NULL,
        tracker_repo TEXT NOT NULL,
        issue_number INTEGER,
        version      INTEGER NOT NULL,
        doc          TEXT NOT NULL
    );
    -- The invariant "one open incident per fingerprint" lives here, not in code:
    -- two replicas racing on the same failure cannot both insert.
    CREATE UNIQUE INDEX incidents_one_open ON incidents (fingerprint) WHERE is_open;
    CREATE INDEX incidents_by_fingerprint ON incidents (fingerprint, seq);
    CREATE INDEX incidents_by_issue ON incidents (tracker_repo, issue_number);
    """,
)


async def migrate(conn: AsyncConnection[object], schema: str | None = None) -> int:
    """Apply pending migrations (creating ``schema`` first when given); returns the
    schema version now in place. ``conn`` must be in autocommit mode."""
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK,))
        if schema is not None:
            await conn.execute(
                sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(schema)))
        await conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_version ("
            " version INTEGER PRIMARY KEY,"
            " applied_at TIMESTAMPTZ NOT NULL DEFAULT now())"
        )
        cur = await conn.execute("SELECT COALESCE(MAX(version), 0) FROM schema_version")
        row = await cur.fetchone()
        current = int(row[0]) if row else 0  # type: ignore[index]
        if current > len(MIGRATIONS):
            raise RuntimeError(
                f"database schema version {current} is newer than this Watchkeeper "
                f"({len(MIGRATIONS)}); upgrade Watchkeeper"
            )
        for version in range(current + 1, len(MIGRATIONS) + 1):
            # No parameters: psycopg sends the script as one simple query.
            await conn.execute(MIGRATIONS[version - 1].encode())
            await conn.execute("INSERT INTO schema_version (version) VALUES (%s)", (version,))
    return len(MIGRATIONS)
