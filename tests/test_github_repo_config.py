"""Config texts come from the default branch of the repo and of the org's .github repo."""

from __future__ import annotations

import pytest

from watchkeeper.github.client import GitHubGateway
from watchkeeper.github.fake import FakeGitHub
from watchkeeper.github.repo_config import CONFIG_PATH, fetch_config_texts, forget_config

INST = 7


@pytest.fixture
def fake() -> FakeGitHub:
    fake = FakeGitHub()
    fake.add_repo("acme/api", installation_id=INST, default_branch="trunk",
                  files={CONFIG_PATH: "repo: 1\n"})
    fake.add_repo("acme/.github", installation_id=INST, files={CONFIG_PATH: "org: 1\n"})
    fake.add_repo("acme/bare", installation_id=INST)
    fake.add_repo("solo/app", installation_id=INST, files={CONFIG_PATH: "solo: 1\n"})
    return fake


@pytest.fixture
def gateway(fake: FakeGitHub) -> GitHubGateway:
    return GitHubGateway(fake.app_id, fake.private_key, fake.api_url, transport=fake,
                         mutation_interval=0)


async def test_repo_and_org_texts(fake: FakeGitHub, gateway: GitHubGateway) -> None:
    fake.create_branch("acme/api", "pr-branch")
    fake.set_file("acme/api", CONFIG_PATH, "repo: from a branch\n", branch="pr-branch")
    assert await fetch_config_texts(gateway, INST, "acme/api") == ("repo: 1\n", "org: 1\n")
    assert await fetch_config_texts(gateway, INST, "acme/bare") == (None, "org: 1\n")
    assert await fetch_config_texts(gateway, INST, "solo/app") == ("solo: 1\n", None)
    assert await fetch_config_texts(gateway, INST, "acme/.github") == ("org: 1\n", None)
    assert [r.query for r in fake.calls("GET", r"/repos/acme/api/contents/.*")] == [{}]


async def test_texts_are_cached_per_repository(fake: FakeGitHub, gateway: GitHubGateway) -> None:
    clock = {"t": 0.0}
    await fetch_config_texts(gateway, INST, "acme/api", clock=lambda: clock["t"])
    fake.set_file("acme/api", CONFIG_PATH, "repo: 2\n", branch="trunk")
    clock["t"] = 299.0
    assert (await fetch_config_texts(gateway, INST, "acme/api", clock=lambda: clock["t"]))[0] == (
        "repo: 1\n")
    clock["t"] = 300.0
    assert (await fetch_config_texts(gateway, INST, "acme/api", clock=lambda: clock["t"]))[0] == (
        "repo: 2\n")
    assert len(fake.calls("GET", r"/repos/acme/api/contents/.*")) == 2

    fake.set_file("acme/.github", CONFIG_PATH, "org: 2\n")
    forget_config(gateway, "acme/.github")  # a push to the org repo: every acme repo re-reads
    texts = await fetch_config_texts(gateway, INST, "acme/api", clock=lambda: clock["t"])
    assert texts == ("repo: 2\n", "org: 2\n")
    other = GitHubGateway(fake.app_id, fake.private_key, fake.api_url, transport=fake,
                          mutation_interval=0)
    fake.requests.clear()
    await fetch_config_texts(other, INST, "acme/api", clock=lambda: clock["t"])
    assert len(fake.requests) == 3  # token + two files: caches are per gateway


async def test_the_org_file_is_read_once_for_all_its_repositories(
        fake: FakeGitHub, gateway: GitHubGateway) -> None:
    for name in ("acme/api", "acme/bare", "acme/api"):
        await fetch_config_texts(gateway, INST, name)
    assert len(fake.calls("GET", r"/repos/acme/\.github/contents/.*")) == 1
