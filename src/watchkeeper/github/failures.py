"""Turn GitHub's failure answers into the two kinds the worker understands.

The worker is the only retrier (the HTTP client never retries), so this is where "try again
later, and when" is decided: 5xx and rate limits are retryable with the wait GitHub asks for;
validation errors, missing permissions and unknown installations are permanent. Messages name
the request and GitHub's own explanation, never headers or tokens.
"""

from __future__ import annotations

from typing import Any

import httpx

from watchkeeper.errors import PermanentError, RetryableError

# GitHub's guidance when a secondary rate limit names no wait: at least one minute.
SECONDARY_LIMIT_WAIT = 60.0
_MAX_TEXT = 300


class NotFoundError(PermanentError):
    """GitHub answered 404: the object is missing or the app cannot see it."""


def github_message(response: httpx.Response) -> str:
    """GitHub's ``message`` plus validation details, cut short; never the request's headers."""
    try:
        data: Any = response.json()
    except ValueError:
        return ""
    if not isinstance(data, dict):
        return ""
    text = str(data.get("message") or "")
    details = []
    for error in data.get("errors") or ():
        if isinstance(error, dict):
            details.append(str(error.get("message") or error.get("code") or ""))
        elif isinstance(error, str):
            details.append(error)
    details = [d for d in details if d]
    if details:
        text = f"{text} ({'; '.join(details)})"
    return text[:_MAX_TEXT]


def _number(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        return float(value)
    except ValueError:
        return None


def rate_limit_wait(response: httpx.Response, now: float) -> float | None:
    """Seconds to wait before retrying, when the response says a rate limit was hit."""
    if response.status_code not in (403, 429):
        return None
    retry_after = _number(response.headers.get("retry-after"))
    if retry_after is not None:
        return max(0.0, retry_after)
    if response.headers.get("x-ratelimit-remaining") == "0":
        reset = _number(response.headers.get("x-ratelimit-reset"))
        return SECONDARY_LIMIT_WAIT if reset is None else max(0.0, reset - now)
    if response.status_code == 429 or "secondary rate limit" in github_message(response).lower():
        return SECONDARY_LIMIT_WAIT
    return None


def failure_for(response: httpx.Response, what: str, now: float) -> Exception:
    """The error to raise for a failed API response; ``what`` is "METHOD /path"."""
    status = response.status_code
    message = github_message(response)
    wait = rate_limit_wait(response, now)
    if wait is not None:
        return RetryableError(f"{what}: rate limited by GitHub ({status})", retry_after=wait)
    if status >= 500:
        return RetryableError(f"{what}: GitHub answered {status}")
    if status == 404:
        return NotFoundError(f"{what}: not found (missing, or the app has no access)")
    if status == 403:
        accepted = response.headers.get("x-accepted-github-permissions", "")
        hint = f"; the endpoint accepts permissions: {accepted}" if accepted else ""
        return PermanentError(f"{what}: forbidden: {message}{hint}")
    if status == 401:
        return PermanentError(f"{what}: GitHub rejected a freshly issued installation token")
    if status == 422:
        return PermanentError(f"{what}: validation failed: {message}")
    return PermanentError(f"{what}: GitHub answered {status}: {message}")


def token_failure_for(response: httpx.Response, installation_id: int, now: float) -> Exception:
    """The error for a failed installation-token request (made inside the auth flow)."""
    status = response.status_code
    what = f"installation token for {installation_id}"
    wait = rate_limit_wait(response, now)
    if wait is not None:
        return RetryableError(f"{what}: rate limited by GitHub ({status})", retry_after=wait)
    if status >= 500:
        return RetryableError(f"{what}: GitHub answered {status}")
    if status == 404:
        return PermanentError(f"{what}: installation not found (the app was uninstalled?)")
    if status == 401:
        return PermanentError(
            f"{what}: GitHub rejected the app's JWT (check the app ID, the private key "
            "and the server clock)"
        )
    if status == 403:
        return PermanentError(f"{what}: forbidden: {github_message(response)}")
    return PermanentError(f"{what}: GitHub answered {status}: {github_message(response)}")
