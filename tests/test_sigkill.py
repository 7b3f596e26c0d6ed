"""A real ``watchkeeper serve`` killed with SIGKILL mid-run, twice, against the fake GitHub
served over HTTP on loopback: after the restarts every acknowledged delivery is processed,
each repository's failure has exactly one incident issue with every run counted, and no
comment exists twice. Deliveries the dead process never answered are sent again, as GitHub
redelivers them."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path

from benchmarks.storm_common import (
    FakeServer,
    ServeProcess,
    free_port,
    make_fake,
    outcome,
    send,
    serve_env,
    storm_plan,
    unanswered,
)

from watchkeeper.store.sqlite import SqliteStore

SECRET = "sigkill-test-secret"


async def _until(condition: Callable[[], bool], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError("the condition never held")
        await asyncio.sleep(0.02)


async def test_sigkill_mid_run_loses_and_duplicates_nothing(tmp_path: Path) -> None:
    plan = storm_plan(deliveries=150, repos=8, runs_per_repo=6, prefix="kill")
    port = free_port()
    fake = make_fake(port, plan.repos, latency=0.02)  # every call takes a round trip
    db = tmp_path / "watchkeeper.db"
    env = serve_env(fake, database_url=f"sqlite:///{db}", secret=SECRET,
                    WORKER_LEASE_SECONDS="1", MUTATION_INTERVAL="0")
    log = tmp_path / "serve.log"

    def opened() -> int:
        return len(fake.calls("POST", r"/repos/[^/]+/[^/]+/issues"))

    with FakeServer(fake, port):
        pending = list(plan.posts)
        for kill_after in (2, 5):  # issues opened before each SIGKILL
            server = ServeProcess(env, free_port(), log)
            await server.start()
            sending = asyncio.create_task(send(pending, server.url, SECRET, concurrency=8))
            await _until(lambda n=kill_after: opened() >= n)  # type: ignore[misc]
            await server.kill()
            sent = await sending
            pending = unanswered(pending, sent)
            assert opened() < len(plan.repos), "killed too late to prove anything"
        server = ServeProcess(env, free_port(), log)
        await server.start()
        sent = await send(pending, server.url, SECRET, concurrency=8)
        assert unanswered(pending, sent) == []
        await server.wait_idle(timeout=60)
        await server.stop()

    store = SqliteStore(str(db), threaded=False)
    try:
        assert await store.dead_letters() == []
        states = [await store.delivery_state(p.delivery_id) for p in plan.posts]
        assert all(s is not None and s.state == "done" for s in states)
        incidents = await store.list_incidents(open_only=False)
        occurrences = {i.repo: i.occurrences.count for i in incidents}
        assert sorted(i.repo for i in incidents) == plan.repos  # one incident each
        assert all(i.issue_number is not None for i in incidents)
    finally:
        await store.close()
    result = outcome(fake, plan, occurrences)
    assert result.issues_per_repo == dict.fromkeys(plan.repos, 1)
    assert result.duplicates == 0 and result.lost == []
