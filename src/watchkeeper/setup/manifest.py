"""The GitHub App manifest, built from ``app.yml`` (Probot's convention).

``app.yml`` is the reviewed list of what the app asks for; only the URLs that depend on where
Watchkeeper runs are filled in here. Unknown keys are refused rather than passed on, so a typo
such as ``default_event`` cannot silently register an app that hears nothing.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import yaml

DEFAULT_WEBHOOK_PATH = "/api/github/webhooks"
CALLBACK_PATH = "/setup/callback"

# Keys GitHub accepts in a manifest ("Registering a GitHub App from a manifest").
MANIFEST_KEYS = frozenset(
    {
        "name",
        "url",
        "hook_attributes",
        "redirect_url",
        "callback_urls",
        "setup_url",
        "setup_on_update",
        "description",
        "public",
        "default_events",
        "default_permissions",
        "request_oauth_on_install",
    }
)
_PERMISSION_LEVELS = frozenset({"read", "write", "admin"})


def build_manifest(
    app_yml_text: str,
    *,
    base_url: str,
    webhook_path: str = DEFAULT_WEBHOOK_PATH,
    webhook_url: str | None = None,
) -> dict[str, Any]:
    """The manifest to POST to GitHub.

    ``base_url`` is where the browser reaches the setup page (GitHub redirects there) and, unless
    ``webhook_url`` is given, where Watchkeeper will receive webhooks under ``webhook_path``.
    """
    loaded = yaml.safe_load(app_yml_text)
    if not isinstance(loaded, dict):
        raise ValueError("app.yml must be a mapping of manifest keys")
    unknown = sorted(str(k) for k in loaded if k not in MANIFEST_KEYS)
    if unknown:
        raise ValueError(f"app.yml has keys GitHub does not know: {', '.join(unknown)}")
    base = _http_url(base_url, "base URL").rstrip("/")
    hook_url = _http_url(webhook_url, "webhook URL") if webhook_url else base + _path(webhook_path)

    manifest: dict[str, Any] = {"public": False, **loaded}
    for key in ("name", "url"):
        if not isinstance(manifest.get(key), str) or not manifest[key].strip():
            raise ValueError(f"app.yml needs a non-empty {key!r}")
    if not isinstance(manifest["public"], bool):
        raise ValueError("app.yml 'public' must be true or false")
    _check_events(manifest.get("default_events", []))
    _check_permissions(manifest.get("default_permissions", {}))
    hooks = manifest.get("hook_attributes") or {}
    if not isinstance(hooks, dict):
        raise ValueError("app.yml 'hook_attributes' must be a mapping")

    manifest["hook_attributes"] = {**hooks, "url": hook_url}
    manifest["redirect_url"] = base + CALLBACK_PATH
    manifest["version"] = "v1"
    return manifest


def _http_url(url: str, what: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"the {what} must be an http(s) URL, got {url!r}")
    return url


def _path(path: str) -> str:
    return path if path.startswith("/") else "/" + path


def _check_events(events: Any) -> None:
    if not isinstance(events, list) or not all(isinstance(e, str) and e for e in events):
        raise ValueError("app.yml 'default_events' must be a list of event names")


def _check_permissions(permissions: Any) -> None:
    if not isinstance(permissions, dict):
        raise ValueError("app.yml 'default_permissions' must map permission names to levels")
    bad = sorted(str(k) for k, v in permissions.items() if v not in _PERMISSION_LEVELS)
    if bad:
        raise ValueError(f"app.yml permissions need read, write or admin: {', '.join(bad)}")
