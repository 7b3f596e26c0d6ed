"""Structured logs: per-task bound fields, JSON lines, secrets never printed."""

from __future__ import annotations

import asyncio
import io
import json
import logging
from collections.abc import Iterator

import pytest

from watchkeeper import logs


@pytest.fixture
def stream() -> Iterator[io.StringIO]:
    root = logging.getLogger()
    level = root.level
    out = io.StringIO()
    yield out
    for handler in list(root.handlers):
        if handler.get_name() == "watchkeeper":
            root.removeHandler(handler)
    root.setLevel(level)


def test_json_lines_carry_bound_fields(stream: io.StringIO) -> None:
    logs.configure("INFO", "json", stream)
    log = logging.getLogger("watchkeeper.test")
    with logs.bind(delivery_id="d-1", installation_id=7):
        with logs.bind(incident_id="INC-2026-0001", ignored=None):
            log.info("opened %s", "issue")
        log.warning("outer")
    log.info("after")
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert [(ln["level"], ln["message"]) for ln in lines] == [
        ("info", "opened issue"), ("warning", "outer"), ("info", "after")]
    assert {k: lines[0][k] for k in ("delivery_id", "installation_id", "incident_id")} == {
        "delivery_id": "d-1", "installation_id": 7, "incident_id": "INC-2026-0001"}
    assert "ignored" not in lines[0]
    assert "incident_id" not in lines[1] and lines[1]["delivery_id"] == "d-1"
    assert "delivery_id" not in lines[2]
    assert lines[0]["logger"] == "watchkeeper.test"


def test_text_format_appends_fields(stream: io.StringIO) -> None:
    logs.configure("DEBUG", "text", stream)
    with logs.bind(delivery_id="d-9"):
        logging.getLogger("watchkeeper.test").debug("hello")
    line = stream.getvalue().strip()
    assert line.endswith("DEBUG watchkeeper.test: hello [delivery_id=d-9]")


async def test_bound_fields_stay_in_their_task() -> None:
    seen: dict[str, dict[str, object]] = {}

    async def task(name: str) -> None:
        with logs.bind(delivery_id=name):
            await asyncio.sleep(0)
            seen[name] = logs.bound_fields()

    await asyncio.gather(task("a"), task("b"))
    assert seen == {"a": {"delivery_id": "a"}, "b": {"delivery_id": "b"}}
    assert logs.bound_fields() == {}


def test_registered_secrets_are_redacted_everywhere(stream: io.StringIO) -> None:
    logs.configure("INFO", "json", stream)
    logs.redact("ghs_installationtoken123", "short")
    log = logging.getLogger("watchkeeper.test")
    try:
        raise RuntimeError("token ghs_installationtoken123 was refused")
    except RuntimeError:
        log.exception("call failed with ghs_installationtoken123")
    out = stream.getvalue()
    assert "ghs_installationtoken123" not in out
    assert out.count("[redacted]") == 3  # message, exception text, the quoted source line
    assert logs.scrub("a short word") == "a short word"  # too short to redact safely


def test_configure_is_idempotent(stream: io.StringIO) -> None:
    logs.configure("INFO", "text", stream)
    logs.configure("WARNING", "json", stream)
    ours = [h for h in logging.getLogger().handlers if h.get_name() == "watchkeeper"]
    assert len(ours) == 1
    assert logging.getLogger().level == logging.WARNING
