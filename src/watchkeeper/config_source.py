"""Where a repository's configuration comes from: GitHub (cached) or a fixed file."""

from __future__ import annotations

from typing import Protocol

from watchkeeper.github.gateway import Gateway
from watchkeeper.github.repo_config import CONFIG_PATH, ORG_REPO, fetch_config_texts
from watchkeeper.runbook.config import default_config, load_config
from watchkeeper.runbook.model import Config


class ConfigSource(Protocol):
    async def get(self, installation_id: int | None, repo: str) -> Config: ...


class GitHubConfigSource:
    """Repository file over the organisation's `.github` file over the runbook defaults."""

    def __init__(self, gateway: Gateway) -> None:
        self._gateway = gateway

    async def get(self, installation_id: int | None, repo: str) -> Config:
        if installation_id is None:
            return default_config()
        repo_text, org_text = await fetch_config_texts(self._gateway, installation_id, repo)
        owner = repo.split("/", 1)[0]
        return load_config(
            org_text,
            repo_text,
            org_source=f"{owner}/{ORG_REPO}:{CONFIG_PATH}",
            repo_source=f"{repo}:{CONFIG_PATH}",
        )


class FixedConfigSource:
    """One configuration for every repository (dry runs and tests)."""

    def __init__(self, config: Config | None = None) -> None:
        self._config = config or default_config()

    async def get(self, installation_id: int | None, repo: str) -> Config:
        return self._config
