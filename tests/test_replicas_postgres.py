"""Two replicas on one PostgreSQL database and one GitHub: a storm of duplicated,
replayed and repeated deliveries ends with exactly one issue per fingerprint, every
delivery processed, no comment posted twice."""

from __future__ import annotations

import signal
from collections import Counter
from contextlib import AsyncExitStack

import httpx
from tests.replica_support import (
    fake_github,
    free_port,
    free_socket,
    issue_report,
    replicas,
    send_all,
    serve_process,
    served,
    settings_env,
    settled,
    storm,
    wait_healthy,
    with_search_path,
)

from watchkeeper.github.fake.asgi import FakeGitHubApp
from watchkeeper.store.postgres import PostgresStore


async def test_two_replicas_in_one_process_open_one_issue_per_fingerprint(
    postgres_url: str, pg_schema: str,
) -> None:
    plan = storm(repos=20, runs=3, replays=2, copies=2)  # 100 deliveries, each sent twice
    assert (len(plan.posts), len(plan.delivery_ids)) == (200, 100)
    fake = fake_github(plan.repos)
    async with replicas(postgres_url, pg_schema, fake, count=2) as (one, two):
        statuses = await send_all([one.client, two.client], plan.posts)
        stats = await settled(one.store, expected=100)
        states = [await one.store.delivery_state(d) for d in sorted(plan.delivery_ids)]
        incidents = await two.store.list_incidents()
        claimed_by = await one.store.db.rows(
            "SELECT claimed_by IS NULL, COUNT(*) FROM deliveries GROUP BY 1")

    assert statuses == Counter({202: 100, 200: 100})  # every copy after the first: known
    assert stats["dead"] == 0
    assert Counter(s.state for s in states if s) == Counter({"done": 100})
    assert claimed_by == [(True, 100)]
    report = issue_report(fake, plan.repos)
    assert report == {"issues_per_repo": Counter({1: 20}), "duplicate_comments": [],
                      "issue_creates": 20}
    assert sorted(i.repo for i in incidents) == sorted(plan.repos)
    assert {i.occurrences.count for i in incidents} == {3}  # replays are not occurrences
    for incident in incidents:
        issue = fake.issue(incident.repo, incident.issue_number or 0)
        assert f"<!-- watchkeeper:incident {incident.id} -->" in (issue.body or "")
    assert len({i.id for i in incidents}) == 20


async def test_two_serve_processes_share_the_work_and_open_one_issue_each(
    postgres_url: str, pg_schema: str,
) -> None:
    plan = storm(repos=10, runs=2, replays=1, noise=10, copies=2)  # 40 deliveries, 80 posts
    sock = free_socket()
    fake = fake_github(plan.repos, api_url=f"http://127.0.0.1:{sock.getsockname()[1]}")
    fake.latency = 0.02
    observer = PostgresStore(postgres_url, schema=pg_schema)
    await observer.open()  # creates the schema the servers find through their URL
    env = {**settings_env(fake, with_search_path(postgres_url, pg_schema)),
           "WORKER_CONCURRENCY": "4", "LOG_LEVEL": "ERROR"}
    ports = [free_port(), free_port()]
    procs = [serve_process(env, port) for port in ports]
    try:
        async with served(FakeGitHubApp(fake), sock), AsyncExitStack() as stack:
            clients = [await stack.enter_async_context(
                httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30))
                for port in ports]
            for client, proc in zip(clients, procs, strict=True):
                await wait_healthy(client, proc)
            statuses = await send_all(clients, plan.posts, concurrency=8)
            stats = await settled(observer, expected=40)
    finally:
        for proc in procs:
            proc.send_signal(signal.SIGTERM)
        codes = [proc.wait(timeout=30) for proc in procs]
        for proc in procs:
            if proc.stderr:
                proc.stderr.close()
        incidents = await observer.list_incidents()
        await observer.close()

    assert codes == [-signal.SIGTERM] * 2  # uvicorn re-raises the signal once shut down
    assert statuses == Counter({202: 40, 200: 40})
    assert stats["dead"] == 0
    assert issue_report(fake, plan.repos) == {
        "issues_per_repo": Counter({1: 10}), "duplicate_comments": [], "issue_creates": 10}
    assert sorted(i.repo for i in incidents) == sorted(plan.repos)
    assert {i.occurrences.count for i in incidents} == {2}
    assert fake.tokens_issued >= 2  # both processes worked for the installation
