"""GitHub App credentials: a JWT for the app, cached installation tokens per installation.

githubkit's ``AppAuthStrategy`` signs the JWT (RS256, ``iat`` 60 s in the past, ``exp`` ten
minutes after ``iat``) and fetches installation tokens lazily, caching them until a minute
before they expire. Its default cache is process-global and its keys leave out the API URL, so
every ``AppCredentials`` carries its own cache: two gateways (a GitHub Enterprise Server next
to github.com, or two tests) never hand each other's tokens out.
"""

from __future__ import annotations

from datetime import timedelta

from githubkit import AppAuthStrategy, AppInstallationAuthStrategy
from githubkit.auth.app import AppAuth
from githubkit.cache import MemCacheStrategy


class AppCredentials:
    """The app's identity and the token cache shared by all of its installation clients."""

    def __init__(self, app_id: int | str, private_key: str) -> None:
        self.app_id = app_id
        self.app = AppAuthStrategy(app_id, private_key)
        self.cache_strategy = MemCacheStrategy()

    def __repr__(self) -> str:  # the private key must never show up in a traceback
        return f"AppCredentials(app_id={self.app_id!r})"

    def installation(self, installation_id: int) -> AppInstallationAuthStrategy:
        return self.app.as_installation(installation_id)

    async def forget_token(self, installation_id: int) -> None:
        """Drop a cached installation token GitHub no longer accepts (revoked, expired early).

        githubkit refetches whenever the cached value is empty, so an empty value with a short
        expiry works for every cache backend (some reject a zero expiry).
        """
        storage = await self.cache_strategy.get_async_cache_storage()
        await storage.aset(_token_cache_key(self.app_id, installation_id), "", timedelta(seconds=1))


def _token_cache_key(app_id: int | str, installation_id: int) -> str:
    """githubkit's cache key for an installation token that is not down-scoped."""
    return AppAuth.INSTALLATION_CACHE_KEY.format(
        issuer=str(app_id),
        installation_id=installation_id,
        permissions="",
        repositories="",
        repository_ids="",
    )
