"""Request/response plumbing shared by the fake's route modules: routes, pages, errors."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx

from watchkeeper.github.fake import shapes
from watchkeeper.github.fake.state import Actor, Repo, World


@dataclass
class Req:
    method: str
    path: str  # relative to the API root, still percent-encoded
    url: httpx.URL
    query: dict[str, str]
    body: Any
    args: tuple[str, ...] = ()  # the route's captured path parts, decoded
    installation_id: int | None = None
    repo: Repo | None = None
    actor: Actor | None = None

    @property
    def r(self) -> Repo:
        assert self.repo is not None
        return self.repo

    def json_field(self, name: str, default: Any = None) -> Any:
        return self.body.get(name, default) if isinstance(self.body, dict) else default


@dataclass
class Resp:
    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)


Handler = Callable[[World, Req], Resp]


@dataclass(frozen=True)
class Route:
    method: str
    pattern: re.Pattern[str]
    handler: Handler
    auth: str = "installation"  # "installation" (token) | "app" (JWT)


REPO = r"/repos/(?P<owner>[^/]+)/(?P<name>[^/]+)"


def route(table: list[Route], method: str, pattern: str, auth: str = "installation"
          ) -> Callable[[Handler], Handler]:
    """Register a handler for ``METHOD pattern`` (a regex over the encoded path)."""
    def register(handler: Handler) -> Handler:
        table.append(Route(method, re.compile(pattern), handler, auth))
        return handler
    return register


def not_found() -> Resp:
    return Resp(404, shapes.error("Not Found", 404))


def invalid(resource: str, field_name: str, code: str, message: str | None = None) -> Resp:
    return Resp(422, shapes.validation(resource, field_name, code, message))


def page(req: Req, items: Sequence[Any], wrapper: str | None = None,
         total_key: str | None = None) -> Resp:
    """One page of ``items`` with GitHub's ``per_page``/``page`` semantics and Link header."""
    try:
        per_page = min(max(int(req.query.get("per_page", 30)), 1), 100)
        number = max(int(req.query.get("page", 1)), 1)
    except ValueError:
        return Resp(400, shapes.error("Invalid page parameter", 400))
    last = max((len(items) + per_page - 1) // per_page, 1)
    chunk = list(items[(number - 1) * per_page: number * per_page])
    links = []
    for rel, target in (("prev", number - 1), ("next", number + 1), ("last", last), ("first", 1)):
        if (rel in ("prev", "first") and number > 1) or (rel in ("next", "last") and number < last):
            url = req.url.copy_set_param("page", str(target)).copy_set_param(
                "per_page", str(per_page))
            links.append(f'<{url}>; rel="{rel}"')
    headers = {"link": ", ".join(links)} if links else {}
    body: Any = chunk
    if wrapper:
        body = {total_key or "total_count": len(items), wrapper: chunk}
    return Resp(200, body, headers)
