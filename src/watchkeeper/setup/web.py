"""The local pages of the manifest flow: post the manifest to GitHub, take the code back.

One app instance is one registration: the ``state`` is drawn once, checked in constant time, and
the code is exchanged at most once (the private key exists only in that one response). Everything
shown that came from GitHub or the user is HTML-escaped; links are emitted only for http(s) URLs.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import re
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from html import escape
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import httpx
from starlette.applications import Starlette
from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import Route

from watchkeeper.github.manifest import (
    AppRegistration,
    ManifestConversionError,
    convert_manifest_code,
    is_valid_code,
)
from watchkeeper.setup.dotenv import write_env
from watchkeeper.setup.manifest import CALLBACK_PATH

DEFAULT_API_URL = "https://api.github.com"
_LOGIN = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})")
_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; frame-ancestors 'none'"
    ),
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-store",
}
_STYLE = (
    "body{font-family:system-ui,sans-serif;max-width:44rem;margin:3rem auto;padding:0 1rem;"
    "line-height:1.5}code{background:#f3f3f3;padding:0 .2em}button,.button{font-size:1rem;"
    "padding:.5rem 1rem}"
)


@dataclass(frozen=True, slots=True)
class SetupResult:
    """The outcome handed to ``on_done``; holds no secret."""

    app_name: str
    app_slug: str
    html_url: str
    install_url: str
    env_path: Path
    backup_path: Path | None
    error: str | None = None


def new_app_url(github_url: str, org: str | None) -> str:
    """Where the manifest form posts: the personal or the organisation registration page."""
    base = github_url.rstrip("/")
    if org is None:
        return f"{base}/settings/apps/new"
    if _LOGIN.fullmatch(org) is None:
        raise ValueError(f"not a GitHub organisation login: {org!r}")
    return f"{base}/organizations/{quote(org)}/settings/apps/new"


def credentials_env(registration: AppRegistration, *, api_url: str) -> dict[str, str]:
    """The ``.env`` entries `watchkeeper serve` reads (Probot's names)."""
    values = {
        "APP_ID": str(registration.id),
        "PRIVATE_KEY": registration.pem,
        "WEBHOOK_SECRET": registration.webhook_secret or "",
        "GITHUB_CLIENT_ID": registration.client_id,
        "GITHUB_CLIENT_SECRET": registration.client_secret,
    }
    if api_url.rstrip("/") != DEFAULT_API_URL:
        values["GITHUB_API_URL"] = api_url.rstrip("/")
    return values


def build_setup_app(
    manifest: Mapping[str, Any],
    *,
    github_url: str = "https://github.com",
    api_url: str = DEFAULT_API_URL,
    env_path: str | Path = ".env",
    org: str | None = None,
    on_done: Callable[[SetupResult], None] = lambda result: None,
    transport: httpx.AsyncBaseTransport | None = None,
) -> Starlette:
    """``GET /`` offers the form; ``GET /setup/callback`` finishes the registration."""
    state = secrets.token_urlsafe(32)
    action = f"{new_app_url(github_url, org)}?state={quote(state)}"
    env_file = Path(env_path)
    lock = asyncio.Lock()
    finished: list[SetupResult] = []

    async def index(request: Request) -> HTMLResponse:
        return _page("Register Watchkeeper on GitHub", _form(manifest, action, org))

    async def callback(request: Request) -> HTMLResponse:
        given = request.query_params.get("state", "")
        if not hmac.compare_digest(given.encode(), state.encode()):
            return _page(
                "Setup refused",
                "<p>The <code>state</code> does not match this setup page. Start again from "
                '<a href="/">the setup page</a>.</p>',
                403,
            )
        code = request.query_params.get("code", "")
        if not is_valid_code(code):
            return _page("Setup refused", "<p>GitHub's redirect carried no usable code.</p>", 400)
        async with lock:
            if finished:
                return _page("Already registered", _done_body(finished[0]), 409)
            try:
                registration = await convert_manifest_code(
                    code, api_url=api_url, transport=transport
                )
            except ManifestConversionError as exc:
                return _page("GitHub refused the code", f"<p>{escape(str(exc))}</p>", 502)
            result = _save(registration, env_file, api_url)
            finished.append(result)
        status = 200 if result.error is None else 500
        return _page(
            "Watchkeeper is registered",
            _done_body(result),
            status,
            background=BackgroundTask(on_done, result),
        )

    return Starlette(
        routes=[Route("/", index, methods=["GET"]), Route(CALLBACK_PATH, callback, methods=["GET"])]
    )


def _save(registration: AppRegistration, env_file: Path, api_url: str) -> SetupResult:
    install_url = registration.html_url.rstrip("/") + "/installations/new"
    header = (
        f"GitHub App {registration.slug or registration.name} (id {registration.id}), "
        "written by `watchkeeper setup`.\nHolds secrets: keep this file private (mode 0600)."
    )
    error = None
    backup = None
    try:
        backup = write_env(env_file, credentials_env(registration, api_url=api_url), header=header)
    except OSError as exc:
        error = (
            f"could not write {env_file}: {exc.strerror or type(exc).__name__}. Generate a new "
            "private key and webhook secret in the app's settings."
        )
    return SetupResult(
        app_name=registration.name,
        app_slug=registration.slug,
        html_url=registration.html_url,
        install_url=install_url,
        env_path=env_file,
        backup_path=backup,
        error=error,
    )


def _form(manifest: Mapping[str, Any], action: str, org: str | None) -> str:
    account = f"the organisation <code>{escape(org)}</code>" if org else "your personal account"
    hooks = manifest.get("hook_attributes") or {}
    permissions = "".join(
        f"<li><code>{escape(str(k))}</code>: {escape(str(v))}</li>"
        for k, v in sorted((manifest.get("default_permissions") or {}).items())
    )
    events = ", ".join(escape(str(e)) for e in manifest.get("default_events") or [])
    return (
        f"<p>This registers the GitHub App <strong>{escape(str(manifest.get('name', '')))}"
        f"</strong> on {account}. GitHub lets you change the name before creating it.</p>"
        f"<p>Webhooks will be sent to <code>{escape(str(hooks.get('url', '')))}</code>.</p>"
        f"<p>Permissions:</p><ul>{permissions}</ul><p>Events: {events}</p>"
        f'<form action="{escape(action)}" method="post">'
        f'<input type="hidden" name="manifest" value="{escape(json.dumps(manifest))}">'
        '<button type="submit">Create the GitHub App</button></form>'
    )


def _done_body(result: SetupResult) -> str:
    name = escape(result.app_name or result.app_slug)
    if result.error is not None:
        saved = f"<p><strong>The credentials were not saved</strong>: {escape(result.error)}</p>"
    else:
        saved = f"<p>Its credentials are in <code>{escape(str(result.env_path))}</code> (mode 0600)"
        if result.backup_path is not None:
            saved += f"; the previous file was kept as <code>{escape(str(result.backup_path))}"
            saved += "</code>"
        saved += ".</p>"
    return (
        f"<p>GitHub created the app <strong>{name}</strong>.</p>{saved}"
        f"<p>Next, install it on the repositories it should watch: {_link(result.install_url)}</p>"
        "<p>Then start it with <code>watchkeeper serve</code>. You can close this page.</p>"
    )


def _link(url: str) -> str:
    if urlsplit(url).scheme not in ("http", "https"):
        return f"<code>{escape(url)}</code>"
    return f'<a href="{escape(url)}">{escape(url)}</a>'


def _page(
    title: str, body: str, status: int = 200, background: BackgroundTask | None = None
) -> HTMLResponse:
    html = (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f"<title>{escape(title)}</title><style>{_STYLE}</style></head>"
        f"<body><h1>{escape(title)}</h1>{body}</body></html>"
    )
    return HTMLResponse(html, status_code=status, headers=_HEADERS, background=background)
