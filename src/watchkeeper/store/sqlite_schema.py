"""The SQLite schema as an ordered list of migrations, applied on open.

Append new steps; never edit a released one. ``schema_version`` records the
last applied step, so an old database is brought forward in one transaction.
"""

from __future__ import annotations

import sqlite3

MIGRATIONS: tuple[str, ...] = (
    # 1: delivery queue, replay keys, counters, incidents as JSON documents.
    """
    CREATE TABLE deliveries (
        seq          INTEGER PRIMARY KEY,
        delivery_id  TEXT NOT NULL UNIQUE,
        event        TEXT NOT NULL,
        action       TEXT,
        body         BLOB NOT NULL,
        encoding     TEXT NOT NULL DEFAULT 'identity',  -- identity | zlib
        received_at  REAL NOT NULL,
        state        TEXT NOT NULL DEFAULT 'pending',  -- pending | done | dead
        available_at REAL NOT NULL,  -- due time; a claim moves it to the lease's end
        attempts     INTEGER NOT NULL DEFAULT 0,
        claimed_by   TEXT,
        last_error   TEXT,
        finished_at  REAL
    );
    CREATE INDEX deliveries_due ON deliveries (available_at, seq) WHERE state = 'pending';
    CREATE INDEX deliveries_finished ON deliveries (finished_at) WHERE state = 'done';
    CREATE INDEX deliveries_dead ON deliveries (seq) WHERE state = 'dead';

    CREATE TABLE events (
        key     TEXT PRIMARY KEY,
        seen_at REAL NOT NULL
    ) WITHOUT ROWID;
    CREATE INDEX events_seen ON events (seen_at);

    CREATE TABLE counters (
        name  TEXT PRIMARY KEY,
        value INTEGER NOT NULL
    ) WITHOUT ROWID;

    CREATE TABLE incidents (
        seq          INTEGER PRIMARY KEY AUTOINCREMENT,
        id           TEXT NOT NULL UNIQUE,
        fingerprint  TEXT NOT NULL,
        is_open      INTEGER NOT NULL,
        tracker_repo TEXT NOT NULL,
        issue_number INTEGER,
        version      INTEGER NOT NULL,
        doc          TEXT NOT NULL
    );
    -- The invariant "one open incident per fingerprint" lives here, not in code:
    -- two workers racing on the same failure cannot both insert.
    CREATE UNIQUE INDEX incidents_one_open ON incidents (fingerprint) WHERE is_open = 1;
    CREATE INDEX incidents_by_fingerprint ON incidents (fingerprint, seq);
    CREATE INDEX incidents_by_issue ON incidents (tracker_repo, issue_number);
    """,
    # 2: named leases, so one replica at a time runs a periodic job (the SLA sweep).
    """
    CREATE TABLE leases (
        name       TEXT PRIMARY KEY,
        holder     TEXT NOT NULL,
        expires_at REAL NOT NULL
    ) WITHOUT ROWID;
    """,
)


def migrate(conn: sqlite3.Connection) -> int:
    """Apply pending migrations; returns the schema version now in place."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        conn.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
        row = conn.execute("SELECT MAX(version) FROM schema_version").fetchone()
        current = int(row[0] or 0)
        if current > len(MIGRATIONS):
            raise RuntimeError(
                f"database schema version {current} is newer than this Watchkeeper "
                f"({len(MIGRATIONS)}); upgrade Watchkeeper"
            )
        for version in range(current + 1, len(MIGRATIONS) + 1):
            for statement in _statements(MIGRATIONS[version - 1]):
                conn.execute(statement)
            conn.execute("INSERT INTO schema_version (version) VALUES (?)", (version,))
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return len(MIGRATIONS)


def _statements(script: str) -> list[str]:
    """Split on ';' at line ends (executescript would commit our transaction)."""
    lines = [line.split("--", 1)[0] for line in script.splitlines()]
    return [s.strip() for s in "\n".join(lines).split(";") if s.strip()]
