"""Shared fixtures: the PostgreSQL server behind the replica store's tests.

Those tests need a real server, named by WATCHKEEPER_TEST_POSTGRES_URL (.ci/run starts a
throwaway one). Without it they are skipped locally, but on CI (CI=true) they fail: a
green CI must mean the PostgreSQL store was exercised.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import psycopg
import pytest
from psycopg import sql

POSTGRES_ENV = "WATCHKEEPER_TEST_POSTGRES_URL"


@pytest.fixture(scope="session")
def postgres_url() -> str:
    url = os.environ.get(POSTGRES_ENV, "").strip()
    if not url:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{POSTGRES_ENV} is not set on CI: the PostgreSQL store's tests must run"
                        " (.ci/run starts a server)")
        pytest.skip(f"needs a PostgreSQL server: set {POSTGRES_ENV}=postgresql://...")
    try:
        psycopg.connect(url, connect_timeout=5).close()
    except psycopg.Error as exc:
        pytest.fail(f"{POSTGRES_ENV} is set but the server cannot be reached: {exc}")
    return url


@pytest.fixture
def pg_schema(postgres_url: str) -> Iterator[str]:
    """A fresh schema name for one test (the store creates it); dropped afterwards."""
    name = f"wk_test_{uuid.uuid4().hex[:12]}"
    yield name
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(name)))
