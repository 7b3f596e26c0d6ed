"""The one door to the GitHub API: clients per installation, pacing, error mapping, pages.

- One githubkit client per installation, reused. ``session()`` keeps their HTTP connections
  open for the task that entered it (githubkit binds them through a ContextVar, so it must be
  entered inside the worker task; other tasks still work, with a client per call).
- No retries here (``auto_retry=False``): a 502 on a POST may have created the issue anyway,
  and only the worker knows how long it may wait. The one exception is a 401 on an installation
  token, which is refetched once: GitHub processed nothing.
- Mutating requests are serialised per installation with ``mutation_interval`` seconds between
  them, as GitHub's REST best practices ask (secondary rate limits otherwise).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

import httpx
from githubkit import GitHub
from githubkit.exception import (
    AuthCredentialError,
    RequestError,
    RequestFailed,
    RequestTimeout,
)

from watchkeeper.errors import PermanentError, RetryableError
from watchkeeper.github.auth import AppCredentials
from watchkeeper.github.failures import failure_for, token_failure_for

MUTATING = frozenset({"POST", "PATCH", "PUT", "DELETE"})
MAX_PAGES = 50  # 5,000 items at 100 a page: far beyond any label's incident count
USER_AGENT = "watchkeeper"


@dataclass
class _Session:
    owner: asyncio.Task[Any] | None
    stack: AsyncExitStack = field(default_factory=AsyncExitStack)
    entered: set[int | None] = field(default_factory=set)


class Requester:
    def __init__(
        self,
        credentials: AppCredentials,
        api_url: str,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        mutation_interval: float = 1.0,
        timeout: float = 30.0,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        monotonic: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
        on_call: Callable[[str, int], None] | None = None,
    ) -> None:
        self._credentials = credentials
        self._on_call = on_call  # (method, status; 0 without a response), for metrics
        self.api_url = httpx.URL(api_url.rstrip("/") + "/")
        self._transport = transport
        self._interval = mutation_interval
        self._timeout = timeout
        self._sleep = sleep
        self._monotonic = monotonic
        self._wall_clock = wall_clock
        # Keyed by installation ID; None is the app itself (JWT-authenticated calls).
        self._clients: dict[int | None, GitHub[Any]] = {}
        self._locks: dict[int | None, asyncio.Lock] = {}
        self._last_mutation: dict[int | None, float] = {}
        self._writers: dict[int | None, int] = {}  # writes waiting or in flight
        self._session: ContextVar[_Session | None] = ContextVar(
            f"watchkeeper_github_session_{id(self)}", default=None
        )
        self.rate_limit_remaining: dict[int, int] = {}

    # --- clients and sessions ---------------------------------------------------------

    def _new_client(self, installation_id: int | None) -> GitHub[Any]:
        auth = (
            self._credentials.app
            if installation_id is None
            else self._credentials.installation(installation_id)
        )
        return GitHub(
            auth,
            base_url=str(self.api_url),
            user_agent=USER_AGENT,
            timeout=self._timeout,
            auto_retry=False,
            http_cache=False,
            async_transport=self._transport,
            cache_strategy=self._credentials.cache_strategy,
        )

    async def _client(self, installation_id: int | None) -> GitHub[Any]:
        client = self._clients.get(installation_id)
        if client is None:
            client = self._clients[installation_id] = self._new_client(installation_id)
        state = self._session.get()
        if (
            state is not None
            and state.owner is asyncio.current_task()
            and installation_id not in state.entered
        ):
            await state.stack.enter_async_context(client)
            state.entered.add(installation_id)
        return client

    @asynccontextmanager
    async def session(self) -> AsyncIterator[None]:
        """Reuse HTTP connections for calls made by this task until the block ends."""
        current = self._session.get()
        if current is not None and current.owner is asyncio.current_task():
            yield  # already inside a session of this task
            return
        state = _Session(owner=asyncio.current_task())
        token = self._session.set(state)
        try:
            async with state.stack:
                yield
        finally:
            self._session.reset(token)

    # --- requests ---------------------------------------------------------------------

    async def request(
        self,
        installation_id: int | None,
        method: str,
        url: str,
        *,
        params: dict[str, Any] | None = None,
        json: Any = None,
        tolerate: tuple[int, ...] = (),
    ) -> httpx.Response:
        """Send one request as the installation (None: as the app).

        Error statuses listed in ``tolerate`` come back as responses instead of errors.
        """
        method = method.upper()
        if method not in MUTATING:
            return await self._send(installation_id, method, url, params, json, tolerate)
        lock = self._locks.get(installation_id)
        if lock is None:
            lock = self._locks[installation_id] = asyncio.Lock()
        self._writers[installation_id] = self._writers.get(installation_id, 0) + 1
        try:
            async with lock:
                return await self._paced(installation_id, method, url, params, json, tolerate)
        finally:
            self._writers[installation_id] -= 1

    def write_backlog(self, installation_id: int | None) -> int:
        """Writes for the installation waiting for their turn (the one in flight excluded)."""
        return max(0, self._writers.get(installation_id, 0) - 1)

    async def _paced(self, installation_id: int | None, method: str, url: str,
                     params: dict[str, Any] | None, json: Any, tolerate: tuple[int, ...]
                     ) -> httpx.Response:
        last = self._last_mutation.get(installation_id)
        if last is not None and self._interval > 0:
            wait = last + self._interval - self._monotonic()
            if wait > 0:
                await self._sleep(wait)
        try:
            return await self._send(installation_id, method, url, params, json, tolerate)
        finally:
            self._last_mutation[installation_id] = self._monotonic()

    async def _send(
        self,
        installation_id: int | None,
        method: str,
        url: str,
        params: dict[str, Any] | None,
        json: Any,
        tolerate: tuple[int, ...],
    ) -> httpx.Response:
        client = await self._client(installation_id)
        what = f"{method} {httpx.URL(url).path}"
        for attempt in (1, 2):
            try:
                response = await client.arequest(method, url, params=params, json=json)
            except RequestTimeout as exc:
                self._count(method, 0)
                raise RetryableError(f"{what}: timed out") from exc
            except RequestFailed as exc:
                raw = exc.response.raw_response
                self._count(method, raw.status_code)
                self._note_rate_limit(installation_id, raw)
                if raw.status_code in tolerate:
                    return raw
                if raw.status_code == 401 and installation_id is None:
                    raise PermanentError(f"{what}: GitHub rejected the app's JWT (check the "
                                         "app ID, the private key and the server clock)") from exc
                if raw.status_code == 401 and attempt == 1 and installation_id is not None:
                    await self._credentials.forget_token(installation_id)  # revoked or expired
                    continue
                raise failure_for(raw, what, self._wall_clock()) from exc
            except RequestError as exc:
                self._count(method, 0)
                raise self._request_error(exc, installation_id, what) from exc
            self._count(method, response.status_code)
            self._note_rate_limit(installation_id, response.raw_response)
            return response.raw_response
        raise AssertionError("unreachable")  # pragma: no cover

    def _request_error(
        self, exc: RequestError[Any], installation_id: int | None, what: str
    ) -> Exception:
        inner = exc.exc
        if isinstance(inner, RequestFailed) and installation_id is not None:
            # The token request inside the auth flow failed.
            return token_failure_for(inner.response.raw_response, installation_id,
                                     self._wall_clock())
        if isinstance(inner, httpx.TimeoutException):
            return RetryableError(f"{what}: timed out")
        if isinstance(inner, httpx.TransportError):
            return RetryableError(f"{what}: connection failed ({type(inner).__name__})")
        if isinstance(inner, AuthCredentialError):
            return PermanentError(f"{what}: app credentials unusable")
        return PermanentError(f"{what}: request failed ({type(inner).__name__})")

    def _count(self, method: str, status: int) -> None:
        if self._on_call is not None:
            self._on_call(method, status)

    def _note_rate_limit(self, installation_id: int | None, response: httpx.Response) -> None:
        remaining = response.headers.get("x-ratelimit-remaining")
        if installation_id is not None and remaining is not None and remaining.isdigit():
            self.rate_limit_remaining[installation_id] = int(remaining)

    async def paginate(
        self,
        installation_id: int,
        url: str,
        params: dict[str, Any] | None = None,
        *,
        items_key: str | None = None,
    ) -> list[Any]:
        """All items of a list endpoint, following ``Link: rel="next"`` on the same host."""
        items: list[Any] = []
        next_url: str | None = url
        next_params: dict[str, Any] | None = {**(params or {}), "per_page": 100}
        for _ in range(MAX_PAGES):
            if next_url is None:
                break
            response = await self.request(installation_id, "GET", next_url, params=next_params)
            data = response.json()
            page = data.get(items_key, []) if items_key and isinstance(data, dict) else data
            items.extend(page if isinstance(page, list) else [])
            next_url, next_params = self._next_link(response), None
        return items

    def _next_link(self, response: httpx.Response) -> str | None:
        link = response.links.get("next", {}).get("url")
        if not link:
            return None
        target = httpx.URL(link)
        # Never send the installation token to a host other than the API's.
        if (target.scheme, target.host, target.port) != (
            self.api_url.scheme, self.api_url.host, self.api_url.port
        ):
            return None
        return link
