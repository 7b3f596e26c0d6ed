"""Two replicas on one PostgreSQL database and one GitHub: a storm of duplicated,
replayed and repeated deliveries ends with exactly one issue per fingerprint, every
delivery processed, no comment posted twice."""

from __future__ import annotations

from collections import Counter

from tests.replica_support import fake_github, issue_report, replicas, send_all, settled, storm


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
        claimed_by = await one.store._rows(
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
