"""The fake GitHub as an httpx transport: auth, routing, request log, fault injection.

The real client (githubkit through ``GitHubGateway``) runs against it unchanged: the app's
JWT is verified with the app's public key, installation tokens are issued and checked, each
request is recorded, and failures can be injected before or after a request takes effect
(a 502 after the issue was created is how GitHub produces duplicates).
"""

from __future__ import annotations

import asyncio
import json
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import unquote

import httpx
import jwt

from watchkeeper.github.fake import (
    routes_activity,
    routes_git,
    routes_issues,
    routes_repos,
    routes_security,
    shapes,
)
from watchkeeper.github.fake.http import Req, Resp, Route, not_found
from watchkeeper.github.fake.keys import demo_private_key, public_key_of
from watchkeeper.github.fake.state import EventSink, World

ROUTES: list[Route] = [*routes_issues.ROUTES, *routes_repos.ROUTES, *routes_activity.ROUTES,
                       *routes_git.ROUTES, *routes_security.ROUTES]
_TOKEN_ROUTE = re.compile(r"/app/installations/(\d+)/access_tokens")
RATE_LIMIT = 5000


@dataclass(frozen=True, slots=True)
class RecordedRequest:
    method: str
    path: str  # relative to the API root, decoded
    query: dict[str, str]
    json: Any
    installation_id: int | None


@dataclass
class Fault:
    method: str
    pattern: re.Pattern[str]
    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: Any = None
    times: int = 1
    after: bool = False
    exc: type[httpx.TransportError] | None = None


class FakeTransport(httpx.AsyncBaseTransport):
    def __init__(
        self,
        *,
        app_id: int = 1,
        app_slug: str = "watchkeeper",
        private_key: str | None = None,
        api_url: str = "https://api.github.com",
        web_url: str = "https://github.com",
        clock: Callable[[], datetime] | None = None,
        token_lifetime: timedelta = timedelta(hours=1),
    ) -> None:
        self.world = World(app_id=app_id, app_slug=app_slug, api_url=api_url, web_url=web_url,
                           clock=clock or (lambda: datetime.now(UTC)))
        self.app_id = app_id
        self.api_url = api_url.rstrip("/")
        self.private_key = private_key or demo_private_key()
        self._public_key = public_key_of(self.private_key)
        self._base_path = httpx.URL(self.api_url).path.rstrip("/")
        self._token_lifetime = token_lifetime
        self._tokens: dict[str, tuple[int, datetime]] = {}
        self._faults: list[Fault] = []
        self._rate: dict[int, int] = {}
        self.requests: list[RecordedRequest] = []
        self.tokens_issued = 0
        self.issued_tokens: list[str] = []  # every token handed out, for leak checks
        self.latency = 0.0  # seconds added to every call

    @property
    def on_event(self) -> EventSink | None:
        return self.world.on_event

    @on_event.setter
    def on_event(self, sink: EventSink | None) -> None:
        self.world.on_event = sink

    # --- test controls ----------------------------------------------------------------

    def fail_next(self, method: str, path_pattern: str, status: int = 500, *,
                  headers: dict[str, str] | None = None, json: Any = None, times: int = 1,
                  after: bool = False, exc: type[httpx.TransportError] | None = None) -> None:
        """Fail the next ``times`` matching calls (``path_pattern`` fully matches the path).

        ``after=True`` lets the call take effect first, then answers the failure; ``exc``
        raises that transport error (e.g. ``httpx.ReadTimeout``) instead of answering (with
        ``after=True``: once the call took effect, as when the answer is lost).
        """
        body = json if json is not None else shapes.error(_REASONS.get(status, "Error"), status)
        self._faults.append(Fault(method.upper(), re.compile(path_pattern), status,
                                  dict(headers or {}), body, times, after, exc))

    def revoke_tokens(self, installation_id: int | None = None) -> None:
        """Invalidate issued tokens server-side (clients still hold them: expect a 401)."""
        for token, (owner, _) in list(self._tokens.items()):
            if installation_id is None or owner == installation_id:
                del self._tokens[token]

    def calls(self, method: str | None = None, path_pattern: str | None = None
              ) -> list[RecordedRequest]:
        return [
            r for r in self.requests
            if (method is None or r.method == method.upper())
            and (path_pattern is None or re.fullmatch(path_pattern, r.path))
        ]

    # --- the transport ----------------------------------------------------------------

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if self.latency:
            await asyncio.sleep(self.latency)
        await request.aread()
        raw_path = request.url.raw_path.split(b"?")[0].decode("ascii")
        path = raw_path.removeprefix(self._base_path) or "/"
        decoded = unquote(path)
        query = dict(request.url.params)
        body = json.loads(request.content) if request.content else None
        installation_id = token_owner = self._token_owner(request)
        if match := _TOKEN_ROUTE.fullmatch(path):
            installation_id = int(match[1])
        self.requests.append(RecordedRequest(request.method, decoded, query, body,
                                             installation_id))
        fault = self._take_fault(request.method, decoded)
        if fault is not None and fault.exc is not None and not fault.after:
            raise fault.exc("injected failure", request=request)
        if fault is not None and not fault.after:
            return _response(Resp(fault.status, fault.body, fault.headers))
        resp = self._dispatch(request, path, query, body)
        if fault is not None and fault.exc is not None:  # took effect, the answer is lost
            raise fault.exc("injected failure", request=request)
        if fault is not None:
            return _response(Resp(fault.status, fault.body, fault.headers))
        if token_owner is not None:  # JWT calls do not spend an installation's quota
            resp.headers.update(self._rate_headers(token_owner))
        return _response(resp)

    def _take_fault(self, method: str, path: str) -> Fault | None:
        for fault in self._faults:
            if fault.times > 0 and fault.method == method and fault.pattern.fullmatch(path):
                fault.times -= 1
                return fault
        return None

    def _rate_headers(self, installation_id: int) -> dict[str, str]:
        left = self._rate[installation_id] = max(self._rate.get(installation_id, RATE_LIMIT) - 1, 0)
        reset = int(datetime.now(UTC).timestamp()) + 3600
        return {"x-ratelimit-limit": str(RATE_LIMIT), "x-ratelimit-remaining": str(left),
                "x-ratelimit-used": str(RATE_LIMIT - left), "x-ratelimit-reset": str(reset),
                "x-ratelimit-resource": "core"}

    def _dispatch(self, request: httpx.Request, path: str, query: dict[str, str],
                  body: Any) -> Resp:
        if request.method == "POST" and (match := _TOKEN_ROUTE.fullmatch(path)):
            return self._issue_token(request, int(match[1]))
        for rt in ROUTES:
            match = rt.pattern.fullmatch(path) if rt.method == request.method else None
            if match is None:
                continue
            req = Req(request.method, path, request.url, query, body,
                      tuple(unquote(g) for g in match.groups()))
            owner: int | None = None
            if rt.auth == "app":
                if (problem := self._check_jwt(request)) is not None:
                    return problem
            else:
                owner = self._token_owner(request)
                if owner is None:
                    return Resp(401, shapes.error("Bad credentials", 401))
                req.installation_id, req.actor = owner, self.world.bot
            if "owner" in rt.pattern.groupindex:
                repo = self.world.repos.get(f"{req.args[0]}/{req.args[1]}".lower())
                if repo is None or (rt.auth != "app" and repo.installation_id != owner):
                    return not_found()
                req.repo, req.args = repo, req.args[2:]
            return rt.handler(self.world, req)
        return not_found()

    # --- auth -------------------------------------------------------------------------

    def _token_owner(self, request: httpx.Request) -> int | None:
        scheme, _, credential = request.headers.get("authorization", "").partition(" ")
        entry = self._tokens.get(credential) if scheme.lower() in ("token", "bearer") else None
        if entry is None or entry[1] <= datetime.now(UTC):
            return None
        if entry[0] not in self.world.installations:  # uninstalled: its tokens died with it
            return None
        return entry[0]

    def _check_jwt(self, request: httpx.Request) -> Resp | None:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer":
            return Resp(401, shapes.error("A JSON web token could not be decoded", 401))
        try:
            claims = jwt.decode(token, self._public_key, algorithms=["RS256"],
                                options={"require": ["iat", "exp", "iss"]})
        except jwt.PyJWTError as exc:
            return Resp(401, shapes.error(f"A JSON web token could not be decoded ({exc})", 401))
        if str(claims["iss"]) != str(self.app_id):
            return Resp(401, shapes.error("'Issuer' claim ('iss') must be an Integer", 401))
        if int(claims["exp"]) - int(claims["iat"]) > 600:
            return Resp(401, shapes.error(
                "'Expiration time' claim ('exp') is too far in the future", 401))
        return None

    def _issue_token(self, request: httpx.Request, installation_id: int) -> Resp:
        if (problem := self._check_jwt(request)) is not None:
            return problem
        installation = self.world.installations.get(installation_id)
        if installation is None:
            return not_found()
        if installation.suspended:
            return Resp(403, shapes.error("This installation has been suspended", 403))
        token = "ghs_" + secrets.token_hex(18)
        # Real time, not the fake's clock: the client caches tokens by the wall clock.
        expires = datetime.now(UTC).replace(microsecond=0) + self._token_lifetime
        self._tokens[token] = (installation_id, expires)
        self.tokens_issued += 1
        self.issued_tokens.append(token)
        return Resp(201, {"token": token, "expires_at": shapes.ts(expires),
                          "permissions": shapes.app(self.world)["permissions"],
                          "repository_selection": "all"})


_REASONS = {400: "Bad Request", 401: "Bad credentials", 403: "Forbidden", 404: "Not Found",
            409: "Conflict", 422: "Validation Failed", 429: "Too Many Requests",
            500: "Server Error", 502: "Server Error", 503: "Service Unavailable"}


def _response(resp: Resp) -> httpx.Response:
    headers = {"x-github-request-id": secrets.token_hex(8).upper(), **resp.headers}
    if resp.status == 204 or resp.body is None:
        return httpx.Response(resp.status, headers=headers)
    return httpx.Response(resp.status, json=resp.body, headers=headers)
