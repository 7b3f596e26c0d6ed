"""Defensive readers for raw webhook payloads.

Payloads are untrusted JSON. Required fields that are missing or of the wrong type
raise MalformedPayload (the only error a parser lets escape); optional fields of the
wrong type read as absent. Raw dicts stay the source of truth: typed webhook models
drop fields such as `rule.security_severity_level`.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Literal

from watchkeeper.signals.model import RepoRef


class MalformedPayload(ValueError):
    """A payload lacks a field the parser needs, or holds it with the wrong type."""


def section(data: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    value = data.get(key)
    if not isinstance(value, Mapping):
        raise MalformedPayload(f"{key!r} is missing or not an object")
    return value


def opt_section(data: Mapping[str, Any] | None, key: str) -> Mapping[str, Any]:
    """The object at `key`, or an empty mapping when it is absent or not an object."""
    value = data.get(key) if isinstance(data, Mapping) else None
    return value if isinstance(value, Mapping) else {}


def text(data: Mapping[str, Any], key: str) -> str:
    value = data.get(key)
    if not isinstance(value, str) or not value:
        raise MalformedPayload(f"{key!r} is missing or not a non-empty string")
    return value


def opt_text(data: Mapping[str, Any] | None, key: str) -> str | None:
    """A non-empty string at `key`, else None."""
    value = data.get(key) if isinstance(data, Mapping) else None
    return value if isinstance(value, str) and value else None


def number(data: Mapping[str, Any], key: str) -> int:
    value = data.get(key)
    if isinstance(value, bool) or not isinstance(value, int):
        raise MalformedPayload(f"{key!r} is missing or not an integer")
    return value


def opt_number(data: Mapping[str, Any] | None, key: str) -> int | None:
    value = data.get(key) if isinstance(data, Mapping) else None
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def opt_flag(data: Mapping[str, Any] | None, key: str) -> bool | None:
    value = data.get(key) if isinstance(data, Mapping) else None
    return value if isinstance(value, bool) else None


def timestamp(value: object) -> datetime | None:
    """GitHub's ISO 8601 time ("2020-10-05T16:33:49Z") as aware UTC; None if unusable."""
    if not isinstance(value, str) or not value or len(value) > 40:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def first_time(
    data: Mapping[str, Any],
    keys: tuple[str, ...],
    received_at: datetime | None,
    *,
    last_resort: tuple[str, ...] = (),
) -> datetime:
    """The first usable timestamp among `keys`, else the delivery's receipt time, else
    the first among `last_resort` (an earlier time that is still better than none).
    """
    for key in keys:
        found = timestamp(data.get(key))
        if found is not None:
            return found
    if received_at is not None:
        if received_at.tzinfo is None:
            raise ValueError("received_at must be timezone-aware")
        return received_at.astimezone(UTC)
    for key in last_resort:
        found = timestamp(data.get(key))
        if found is not None:
            return found
    raise MalformedPayload(f"no usable timestamp among {', '.join(keys + last_resort)}")


# Run / check conclusions: "success" recovers; these may detect (the rule's
# `conclusions` decide); anything else (neutral, skipped, none yet) is no signal.
DETECTING_CONCLUSIONS = frozenset(
    {"failure", "timed_out", "startup_failure", "action_required", "cancelled", "stale"}
)


def conclusion_kind(conclusion: str | None) -> Literal["detection", "recovery"] | None:
    if conclusion == "success":
        return "recovery"
    if conclusion in DETECTING_CONCLUSIONS:
        return "detection"
    return None


def repository(payload: Mapping[str, Any]) -> RepoRef:
    """The payload's repository. Unknown visibility reads as private (the safer guess)."""
    repo = section(payload, "repository")
    name = text(repo, "name")
    owner = opt_text(opt_section(repo, "owner"), "login")
    if owner is None:
        full_name = opt_text(repo, "full_name") or ""
        owner, slash, rest = full_name.partition("/")
        if not slash or rest != name or not owner:
            raise MalformedPayload("repository owner is missing")
    private = opt_flag(repo, "private")
    return RepoRef(
        owner=owner,
        name=name,
        private=True if private is None else private,
        default_branch=opt_text(repo, "default_branch") or "main",
        id=opt_number(repo, "id"),
    )


def installation_id(payload: Mapping[str, Any]) -> int | None:
    return opt_number(opt_section(payload, "installation"), "id")


def sender_login(payload: Mapping[str, Any]) -> str | None:
    return opt_text(opt_section(payload, "sender"), "login")


def branch_from_ref(ref: str | None) -> str | None:
    """'refs/heads/main' -> 'main'; other refs (pull request merge refs, tags) -> None."""
    if ref and ref.startswith("refs/heads/") and len(ref) > len("refs/heads/"):
        return ref.removeprefix("refs/heads/")
    return None


def facts(**values: object) -> dict[str, str]:
    """A facts mapping: absent (None/empty) values are left out, the rest become strings."""
    out: dict[str, str] = {}
    for key, value in values.items():
        if value is None or value == "":
            continue
        out[key] = ("true" if value else "false") if isinstance(value, bool) else str(value)
    return out
