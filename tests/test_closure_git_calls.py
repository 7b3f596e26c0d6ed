"""The gateway's Git data and pull request calls against the fake GitHub: several files in one
commit, refs that only move forward, pull requests found by branch, edited, reopened and
reviewed, and a commit's time."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from watchkeeper.errors import PermanentError
from watchkeeper.github.client import GitHubGateway
from watchkeeper.github.fake import FakeGitHub

REPO = "acme/api"
INST = 7
NOW = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)


@pytest.fixture
def fake() -> FakeGitHub:
    fake = FakeGitHub(app_id=3, app_slug="watchkeeper", clock=lambda: NOW)
    fake.add_repo(REPO, installation_id=INST, files={"README.md": "hello\n"})
    fake.set_permission(REPO, "alice", "write")
    return fake


def gateway(fake: FakeGitHub) -> GitHubGateway:
    return GitHubGateway(fake.app_id, fake.private_key, fake.api_url, transport=fake,
                         mutation_interval=0)


async def test_two_files_land_in_one_commit_on_a_new_branch(fake: FakeGitHub) -> None:
    gw = gateway(fake)
    assert await gw.get_branch_sha(INST, REPO, "watchkeeper/pm-1") is None
    base = await gw.get_branch_sha(INST, REPO, "main")
    assert base is not None
    head = await gw.get_git_commit(INST, REPO, base)
    tree = await gw.create_tree(INST, REPO, head.tree, {"docs/a.md": "A\n", "docs/b.md": "B\n"})
    commit = await gw.create_commit(INST, REPO, "Add both", tree, [base])
    await gw.create_branch(INST, REPO, "watchkeeper/pm-1", commit)
    assert fake.file(REPO, "docs/a.md", branch="watchkeeper/pm-1") == "A\n"
    assert fake.file(REPO, "README.md", branch="watchkeeper/pm-1") == "hello\n"
    assert fake.repo(REPO).parents[commit] == (base,)
    assert (await gw.get_git_commit(INST, REPO, commit)).message == "Add both"
    assert fake.file(REPO, "docs/a.md") is None  # main untouched
    # Moving the branch on: the next commit's parent is the branch head.
    tree2 = await gw.create_tree(INST, REPO, (await gw.get_git_commit(INST, REPO, commit)).tree,
                                 {"docs/a.md": "A2\n"})
    second = await gw.create_commit(INST, REPO, "Again", tree2, [commit])
    await gw.move_branch(INST, REPO, "watchkeeper/pm-1", second)
    assert fake.file(REPO, "docs/a.md", branch="watchkeeper/pm-1") == "A2\n"
    assert fake.file(REPO, "docs/b.md", branch="watchkeeper/pm-1") == "B\n"
    assert await gw.get_commit_time(INST, REPO, second) == NOW


async def test_pull_requests_are_found_by_branch_edited_reopened_and_reviewed(
        fake: FakeGitHub) -> None:
    gw = gateway(fake)
    fake.create_branch(REPO, "watchkeeper/pm-1")
    fake.set_file(REPO, "docs/a.md", "A\n", branch="watchkeeper/pm-1")
    assert await gw.find_pulls(INST, REPO, "watchkeeper/pm-1") == []
    pull = await gw.create_pull(INST, REPO, head="watchkeeper/pm-1", base="main", title="T",
                                body="B")
    assert (pull.state, pull.head_ref, pull.base_ref, pull.author) == (
        "open", "watchkeeper/pm-1", "main", "watchkeeper[bot]")
    assert await gw.request_reviewers(INST, REPO, pull.number, ["alice"]) is True
    assert await gw.request_reviewers(INST, REPO, pull.number, ["stranger"]) is False
    (found,) = await gw.find_pulls(INST, REPO, "watchkeeper/pm-1")
    assert (found.number, found.requested_reviewers) == (pull.number, ("alice",))
    closed = await gw.update_pull(INST, REPO, pull.number, state="closed")
    assert closed.state == "closed" and not closed.merged
    reopened = await gw.update_pull(INST, REPO, pull.number, state="open", body="B2")
    assert (reopened.state, reopened.body) == ("open", "B2")


async def test_unsafe_names_never_reach_a_url(fake: FakeGitHub) -> None:
    gw = gateway(fake)
    with pytest.raises(PermanentError):
        await gw.get_branch_sha(INST, REPO, "../../etc")
    with pytest.raises(PermanentError):
        await gw.create_tree(INST, REPO, "0" * 40, {"/abs": "x"})
    with pytest.raises(PermanentError):
        await gw.get_commit_time(INST, REPO, "not-a-sha")
    assert fake.requests == []
    assert await gw.get_commit_time(INST, REPO, "f" * 40) is None  # unknown commit
