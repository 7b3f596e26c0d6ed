"""Gateway calls for evidence and the freeze, against the fake (and the request shapes)."""

from __future__ import annotations

import pytest
from tests.evidence_support import failed_job

from watchkeeper.errors import PermanentError
from watchkeeper.github.client import GitHubGateway
from watchkeeper.github.fake import FakeGitHub

REPO = "acme/api"
INST = 7


@pytest.fixture
def fake() -> FakeGitHub:
    fake = FakeGitHub(app_id=42)
    fake.add_repo(REPO, installation_id=INST, default_branch="main", files={"a.txt": "a"})
    return fake


@pytest.fixture
def gateway(fake: FakeGitHub) -> GitHubGateway:
    return GitHubGateway(fake.app_id, fake.private_key, fake.api_url, transport=fake,
                         mutation_interval=0)


async def test_pull_requests_by_base(fake: FakeGitHub, gateway: GitHubGateway) -> None:
    fake.create_branch(REPO, "f1")
    fake.set_file(REPO, "b.txt", "b", branch="f1")
    fake.create_branch(REPO, "release")
    fake.create_branch(REPO, "f2", from_branch="release")
    fake.set_file(REPO, "c.txt", "c", branch="f2")
    fake.person_open_pr(REPO, head="f1", title="One")
    fake.person_open_pr(REPO, head="f2", title="Two", base="release")
    pulls = await gateway.list_pulls(INST, REPO, base="main")
    assert [(p["number"], p["title"], p["head"]["ref"]) for p in pulls] == [(1, "One", "f1")]
    assert len(await gateway.list_pulls(INST, REPO)) == 2
    assert fake.calls("GET", f"/repos/{REPO}/pulls")[0].query["base"] == "main"


async def test_workflow_jobs(fake: FakeGitHub, gateway: GitHubGateway) -> None:
    fake.add_workflow_jobs(REPO, 300, [failed_job(job_id=9, run_id=300,
                                                  at="2026-11-27T09:00:00Z")])
    jobs = await gateway.list_workflow_jobs(INST, REPO, 300, attempt=2)
    assert [job["id"] for job in jobs] == [9]
    assert fake.requests[-1].path == f"/repos/{REPO}/actions/runs/300/attempts/2/jobs"
    assert await gateway.list_workflow_jobs(INST, REPO, 301) == []  # gone: nothing to list


async def test_compare_follows_ancestry(fake: FakeGitHub, gateway: GitHubGateway) -> None:
    fake.create_branch(REPO, "fix")
    fix = fake.set_file(REPO, "fix.txt", "fix", branch="fix")
    number = fake.person_open_pr(REPO, head="fix", title="Fix")
    merge = fake.person_merge_pr(REPO, number)
    later = fake.set_file(REPO, "later.txt", "later")
    fake.create_branch(REPO, "other", from_branch="main")
    elsewhere = fake.set_file(REPO, "x.txt", "x", branch="other")
    assert await gateway.compare_commits(INST, REPO, merge, later) == "ahead"
    assert await gateway.compare_commits(INST, REPO, fix, later) == "ahead"  # via the merge
    assert await gateway.compare_commits(INST, REPO, later, merge) == "behind"
    assert await gateway.compare_commits(INST, REPO, merge, merge) == "identical"
    side = fake.set_file(REPO, "y.txt", "y", branch="fix")
    assert await gateway.compare_commits(INST, REPO, side, elsewhere) == "diverged"
    assert await gateway.compare_commits(INST, REPO, "f" * 40, later) is None
    with pytest.raises(PermanentError):
        await gateway.compare_commits(INST, REPO, "main; rm", later)


async def test_check_runs_created_found_and_updated(fake: FakeGitHub,
                                                    gateway: GitHubGateway) -> None:
    sha = fake.repo(REPO).branches["main"]
    assert await gateway.find_check_run(INST, REPO, sha, "watchkeeper/freeze") is None
    run_id = await gateway.create_check_run(
        INST, REPO, name="watchkeeper/freeze", head_sha=sha, conclusion="failure",
        title="Deployment freeze", summary="Frozen.", external_id="INC-1")
    created = fake.calls("POST", f"/repos/{REPO}/check-runs")[0].json
    assert created == {"name": "watchkeeper/freeze", "head_sha": sha, "status": "completed",
                       "conclusion": "failure", "external_id": "INC-1",
                       "output": {"title": "Deployment freeze", "summary": "Frozen."}}
    assert await gateway.find_check_run(INST, REPO, sha, "watchkeeper/freeze") == run_id
    assert fake.calls("GET", rf"/repos/{REPO}/commits/{sha}/check-runs")[0].query == {
        "check_name": "watchkeeper/freeze", "filter": "latest", "app_id": "42"}
    assert await gateway.update_check_run(INST, REPO, run_id, conclusion="neutral",
                                          title="Lifted", summary="No freeze.")
    assert fake.repo(REPO).check_runs[run_id]["conclusion"] == "neutral"
    assert not await gateway.update_check_run(INST, REPO, 999999, conclusion="neutral",
                                              title="x", summary="y")
