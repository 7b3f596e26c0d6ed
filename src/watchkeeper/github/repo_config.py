"""Fetch the config texts: the repository's ``.github/watchkeeper.yml`` and the org default.

Probot's convention: the file is read from the default branch only (a pull request cannot
change how its own failures are handled), and the organisation's ``<owner>/.github``
repository supplies defaults. The texts are cached for a few minutes (the organisation's once
for all its repositories), so a burst of deliveries costs two reads, not two per delivery.
Parsing is the config loader's job.
"""

from __future__ import annotations

import time
import weakref
from collections.abc import Callable

from watchkeeper.github.gateway import Gateway

CONFIG_PATH = ".github/watchkeeper.yml"
ORG_REPO = ".github"
DEFAULT_TTL = 300.0

ConfigTexts = tuple[str | None, str | None]  # (repository file, organisation file)

# One cache per gateway (weakly held), so two GitHub hosts or two tests never share entries.
# Keyed per repository; the organisation's file is one entry (its `.github` repository) that
# every repository of the owner shares.
_CACHES: weakref.WeakKeyDictionary[object, dict[tuple[int, str], tuple[float, str | None]]] = (
    weakref.WeakKeyDictionary()
)


async def fetch_config_texts(
    gateway: Gateway,
    installation_id: int,
    repo: str,
    *,
    ttl: float = DEFAULT_TTL,
    clock: Callable[[], float] = time.monotonic,
) -> ConfigTexts:
    """(repo's file, org's file), each None when absent (or the org has no ``.github`` repo)."""
    cache = _CACHES.setdefault(gateway, {})
    now = clock()
    owner = repo.split("/", 1)[0]
    org_repo = f"{owner}/{ORG_REPO}"
    repo_text = await _text(gateway, cache, installation_id, repo, now, ttl)
    org_text = (
        None
        if org_repo.lower() == repo.lower()
        else await _text(gateway, cache, installation_id, org_repo, now, ttl)
    )
    return repo_text, org_text


async def _text(gateway: Gateway, cache: dict[tuple[int, str], tuple[float, str | None]],
                installation_id: int, repo: str, now: float, ttl: float) -> str | None:
    key = (installation_id, repo.lower())
    hit = cache.get(key)
    if hit is not None and now - hit[0] < ttl:
        return hit[1]
    text = await gateway.get_file_text(installation_id, repo, CONFIG_PATH)
    cache[key] = (now, text)
    return text


def forget_config(gateway: Gateway, repo: str | None = None) -> None:
    """Drop cached texts after a push changed the file: one repository, all repositories of
    the owner when it is the org's ``.github`` repository, or everything (None)."""
    cache = _CACHES.get(gateway)
    if cache is None:
        return
    owner, _, name = (repo or "").lower().partition("/")
    for key in list(cache):
        if repo is None or key[1] == repo.lower() or (
            name == ORG_REPO and key[1].split("/", 1)[0] == owner
        ):
            del cache[key]
