"""Notification targets, defined by the operator in the server's settings.

`NOTIFY_TARGETS` (JSON) or the file named by `NOTIFY_CONFIG` (JSON or YAML) maps a name
to a target:

    {"security-slack": {"type": "slack", "url": "https://hooks.slack.com/services/..."},
     "pager": {"type": "webhook", "url": "https://alerts.example/incident",
               "headers": {"Authorization": "Bearer ..."}}}

Repositories choose among them by name only (`notify: [security-slack]`): a repository
can never make the server send a request to an address of its choosing. URLs and header
values are secrets (a Slack webhook URL is a credential): they never appear in errors,
logs or `repr`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlsplit

TargetKind = Literal["slack", "webhook"]
KINDS: tuple[TargetKind, ...] = ("slack", "webhook")
MAX_TARGETS = 50
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
_HEADER_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]{0,63}")
# Set by the sender itself: a target must not override them.
_RESERVED_HEADERS = frozenset({"host", "content-length", "content-type", "transfer-encoding",
                               "connection"})


class TargetError(ValueError):
    """A target definition is unusable; the message names it, never a secret value."""


@dataclass(frozen=True, slots=True, repr=False)
class NotifyTarget:
    name: str
    kind: TargetKind
    url: str
    headers: tuple[tuple[str, str], ...] = ()

    def __repr__(self) -> str:
        return f"NotifyTarget(name={self.name!r}, kind={self.kind!r}, url=<hidden>)"

    __str__ = __repr__


def parse_targets(data: object) -> tuple[NotifyTarget, ...]:
    """The targets in a decoded JSON/YAML document (a mapping name -> definition)."""
    if data is None:
        return ()
    if not isinstance(data, Mapping):
        raise TargetError("notification targets must be a mapping of name to target")
    if len(data) > MAX_TARGETS:
        raise TargetError(f"at most {MAX_TARGETS} notification targets")
    return tuple(_target(name, spec) for name, spec in data.items())


def _target(name: object, spec: object) -> NotifyTarget:
    if not isinstance(name, str) or not NAME.fullmatch(name):
        raise TargetError("notification target names use letters, digits, '_', '.', '-' "
                          "(at most 64 characters)")
    if not isinstance(spec, Mapping):
        raise TargetError(f"notification target {name!r} must be a mapping")
    unknown = sorted(str(k) for k in spec if k not in ("type", "url", "headers"))
    if unknown:
        raise TargetError(f"notification target {name!r} has unknown keys: {', '.join(unknown)}")
    kind = spec.get("type", "webhook")
    if kind not in KINDS:
        raise TargetError(f"notification target {name!r}: type must be slack or webhook")
    url = spec.get("url")
    if not isinstance(url, str) or not _usable_url(url):
        raise TargetError(f"notification target {name!r}: url must be an http(s) URL")
    return NotifyTarget(name, kind, url, _headers(name, spec.get("headers")))


def _usable_url(url: str) -> bool:
    if len(url) > 2000 or any(c.isspace() or ord(c) < 32 for c in url):
        return False
    try:
        parts = urlsplit(url)
        port_ok = parts.port is None or parts.port > 0
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname) and port_ok


def _headers(name: str, raw: object) -> tuple[tuple[str, str], ...]:
    if raw is None:
        return ()
    if not isinstance(raw, Mapping) or len(raw) > 20:
        raise TargetError(f"notification target {name!r}: headers must be a mapping "
                          "(at most 20)")
    out: list[tuple[str, str]] = []
    for key, value in raw.items():
        if not isinstance(key, str) or not _HEADER_NAME.fullmatch(key) \
                or key.lower() in _RESERVED_HEADERS:
            raise TargetError(f"notification target {name!r}: invalid header name")
        if not isinstance(value, str) or len(value) > 4096 or any(
                c in value for c in "\r\n\0"):
            raise TargetError(f"notification target {name!r}: header {key!r} needs a "
                              "one-line text value")
        out.append((key, value))
    return tuple(out)
