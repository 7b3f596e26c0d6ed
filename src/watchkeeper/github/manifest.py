"""Step 3 of the GitHub App manifest flow: trade the temporary code for the app's credentials.

The code is single use and the private key is shown exactly once, so this call is never retried
(a retried POST after a lost response would only earn a 404) and the raw JSON is read instead of
the strictly validated model: a schema drift must not throw away a freshly created app's key.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, cast
from urllib.parse import urlsplit

import httpx
from githubkit import GitHub
from githubkit.exception import GitHubException, RequestFailed

# GitHub's codes are short hex strings; anything else never reaches a URL path.
_CODE = re.compile(r"[A-Za-z0-9_-]{1,200}")
# GitHub Enterprise Server may reject the newest REST version; every server knows this one.
_GHES_API_VERSION = "2022-11-28"


class ManifestConversionError(Exception):
    """GitHub refused the code (expired, already used, unknown) or could not be reached."""

    def __init__(self, message: str, status_code: int | None = None) -> None:
        super().__init__(message)
        self.status_code = status_code


@dataclass(frozen=True, slots=True)
class AppRegistration:
    """What GitHub returns for a newly registered app; secrets stay out of ``repr``."""

    id: int
    slug: str
    name: str
    html_url: str
    owner_login: str
    client_id: str
    client_secret: str = field(repr=False)
    webhook_secret: str | None = field(repr=False)
    pem: str = field(repr=False)


def is_valid_code(code: str) -> bool:
    return _CODE.fullmatch(code) is not None


async def convert_manifest_code(
    code: str,
    *,
    api_url: str,
    transport: httpx.AsyncBaseTransport | None = None,
    timeout: float = 30.0,
) -> AppRegistration:
    """``POST {api_url}/app-manifests/{code}/conversions`` (unauthenticated)."""
    if not is_valid_code(code):
        raise ManifestConversionError("the code from GitHub has an unexpected shape")
    headers = {} if _is_github_com(api_url) else {"X-GitHub-Api-Version": _GHES_API_VERSION}
    gh = GitHub(
        base_url=api_url,
        auto_retry=False,
        http_cache=False,
        timeout=timeout,
        async_transport=transport,
        user_agent="watchkeeper-setup",
    )
    try:
        response = await gh.rest.apps.async_create_from_manifest(code, headers=headers)
    except RequestFailed as exc:
        status = exc.response.status_code
        raise ManifestConversionError(_failure_text(status, exc.response), status) from None
    except GitHubException as exc:
        raise ManifestConversionError(f"could not reach GitHub: {type(exc).__name__}") from None
    return parse_registration(response.json())


def parse_registration(data: Any) -> AppRegistration:
    """Read the conversion response; only the fields Watchkeeper writes or shows are required."""
    if not isinstance(data, dict):
        raise ManifestConversionError("GitHub returned an unexpected response")
    owner: dict[str, Any] = (cast(dict[str, Any], data.get("owner"))
                             if isinstance(data.get("owner"), dict) else {})
    try:
        return AppRegistration(
            id=int(data["id"]),
            slug=str(data.get("slug") or ""),
            name=str(data.get("name") or ""),
            html_url=str(data["html_url"]),
            owner_login=str(owner.get("login") or ""),
            client_id=str(data["client_id"]),
            client_secret=str(data["client_secret"]),
            webhook_secret=(
                str(data["webhook_secret"]) if data.get("webhook_secret") is not None else None
            ),
            pem=str(data["pem"]),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise ManifestConversionError(
            f"GitHub's response lacks a usable {exc.args[0] if exc.args else 'field'!s}"
        ) from None


def _is_github_com(api_url: str) -> bool:
    return (urlsplit(api_url).hostname or "").lower() == "api.github.com"


def _failure_text(status: int, response: Any) -> str:
    hint = {
        404: "the code is unknown, already used or older than one hour; start the setup again",
        422: "GitHub rejected the manifest",
    }.get(status, "GitHub refused the conversion")
    message = ""
    try:
        body = response.json()
        if isinstance(body, dict) and isinstance(body.get("message"), str):
            message = body["message"][:200]
    except ValueError:
        pass
    return f"HTTP {status}: {hint}" + (f" ({message})" if message else "")
