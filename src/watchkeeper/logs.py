"""Structured logs with per-task context.

``bind(delivery_id=..., installation_id=...)`` attaches fields to every record
logged inside the block, in the same asyncio task only (a ContextVar), so a
line about a GitHub call says which delivery and incident it served. Output is
plain text or one JSON object per line (LOG_FORMAT=json).

Secrets never reach the output: values registered with ``redact()`` (webhook
secrets, the private key, tokens) are replaced in every rendered line.
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
import sys
from collections.abc import Iterator
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any, TextIO

_FIELDS: ContextVar[dict[str, Any] | None] = ContextVar("watchkeeper_log_fields", default=None)
_SECRETS: list[str] = []
_REDACTED = "[redacted]"
_HANDLER_NAME = "watchkeeper"


@contextlib.contextmanager
def bind(**fields: Any) -> Iterator[None]:
    """Add fields to every log record emitted inside the block (None values are skipped)."""
    merged = {**(_FIELDS.get() or {}), **{k: v for k, v in fields.items() if v is not None}}
    token = _FIELDS.set(merged)
    try:
        yield
    finally:
        _FIELDS.reset(token)


def bound_fields() -> dict[str, Any]:
    return dict(_FIELDS.get() or {})


def redact(*values: str) -> None:
    """Never print these values; short values are ignored (they would mangle normal text)."""
    for value in values:
        for part in (value, *value.splitlines()):
            part = part.strip()
            if len(part) >= 8 and part not in _SECRETS:
                _SECRETS.append(part)
    _SECRETS.sort(key=len, reverse=True)


# Credentials recognised by their shape, registered or not: GitHub tokens (installation
# ghs_, user ghu_, OAuth gho_, personal ghp_, refresh ghr_, fine-grained github_pat_) and JWTs.
_TOKEN_SHAPES = re.compile(
    r"\b(?:gh[opusr]_[A-Za-z0-9]{20,255}|github_pat_[A-Za-z0-9_]{20,255}"
    r"|eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,})"
)


def scrub(text: str) -> str:
    """The text with every registered secret and every token-shaped string replaced."""
    for secret in _SECRETS:
        if secret in text:
            text = text.replace(secret, _REDACTED)
    return _TOKEN_SHAPES.sub(_REDACTED, text)


class _ContextFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.wk_fields = _FIELDS.get() or {}
        return True


class TextFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        fields = getattr(record, "wk_fields", None) or {}
        if fields:
            extra = " ".join(f"{k}={v}" for k, v in fields.items())
            head, sep, tail = line.partition("\n")
            line = f"{head} [{extra}]{sep}{tail}"
        return scrub(line)


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        data: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        data.update(getattr(record, "wk_fields", None) or {})
        if record.exc_info:
            data["exception"] = self.formatException(record.exc_info)
        return scrub(json.dumps(data, default=str, ensure_ascii=False))


def configure(level: str = "INFO", fmt: str = "text", stream: TextIO | None = None) -> None:
    """Install one handler on the root logger (idempotent: replaces the previous one)."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        if handler.get_name() == _HANDLER_NAME:
            root.removeHandler(handler)
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.set_name(_HANDLER_NAME)
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    handler.addFilter(_ContextFilter())
    root.addHandler(handler)
    root.setLevel(level.upper())
    # The HTTP client logs every request line at INFO, URLs and all: keep it quiet.
    logging.getLogger("httpx").setLevel(max(logging.WARNING, root.level))
