"""/metrics counts move with deliveries; JSON logs carry delivery and incident IDs and never a
secret or a token (the logging `watchkeeper serve` starts, around a real run)."""

from __future__ import annotations

import io
import json
import logging
import re
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from tests.support import REPO, SECRET, failing_secret_scan, harness

from watchkeeper.cli import start_logging


def sample(text: str, name: str, **labels: str) -> float:
    """One sample's value from Prometheus text; 0 when the series does not exist yet."""
    shown = ",".join(f'{k}="{v}"' for k, v in labels.items())
    series = f"{name}{{{shown}}}" if labels else name
    for line in text.splitlines():
        if line.startswith(series + " "):
            return float(line.split(" ")[1])
    return 0.0


async def scrape(h) -> str:
    response = await h.client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    return response.text


async def test_metrics_move_after_a_delivery(tmp_path: Path) -> None:
    async with harness(tmp_path) as h:
        before = await scrape(h)
        assert sample(before, "watchkeeper_deliveries_received_total",
                      event="workflow_run") == 0
        assert sample(before, "watchkeeper_incidents_open", severity="critical") == 0

        assert (await h.deliver("workflow_run", failing_secret_scan())).status_code == 202
        queued = await scrape(h)
        assert sample(queued, "watchkeeper_deliveries_received_total", event="workflow_run") == 1
        assert sample(queued, "watchkeeper_queue_depth") == 1
        assert sample(queued, "watchkeeper_deliveries_processed_total",
                      event="workflow_run") == 0

        assert await h.drain() == 1
        after = await scrape(h)
        assert sample(after, "watchkeeper_deliveries_processed_total", event="workflow_run") == 1
        assert sample(after, "watchkeeper_queue_depth") == 0
        assert sample(after, "watchkeeper_processing_seconds_count") == 1
        assert sample(after, "watchkeeper_incidents_open", severity="critical") == 1
        assert sample(after, "watchkeeper_github_api_calls_total",
                      method="POST", status="201") >= 1
        assert 0 < sample(after, "watchkeeper_github_rate_limit_remaining",
                          installation="7") < 5000
        assert sample(after, "watchkeeper_deliveries_dead_lettered_total") == 0

        # A forged delivery is not counted as received.
        await h.deliver("workflow_run", failing_secret_scan(), secret="wrong")
        assert sample(await scrape(h), "watchkeeper_deliveries_received_total",
                      event="workflow_run") == 1


async def test_a_dead_letter_is_counted(tmp_path: Path) -> None:
    async with harness(tmp_path) as h:
        broken = failing_secret_scan()
        del broken["workflow_run"]  # the parser cannot read it: permanent, no retry
        await h.deliver("workflow_run", broken, delivery_id="d-broken")
        await h.drain()
        text = await scrape(h)
        assert sample(text, "watchkeeper_deliveries_dead_lettered_total") == 1
        assert sample(text, "watchkeeper_deliveries_failed_total") == 1
        assert sample(text, "watchkeeper_deliveries_processed_total", event="workflow_run") == 0
        state = await h.runtime.store.delivery_state("d-broken")
        assert state is not None and state.state == "dead"


@pytest.fixture
def log_stream() -> Iterator[io.StringIO]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    out = io.StringIO()
    yield out
    root.handlers[:] = handlers
    root.setLevel(level)
    logging.getLogger("httpx").setLevel(logging.NOTSET)


async def test_logs_carry_ids_and_never_secrets_or_tokens(
    tmp_path: Path, log_stream: io.StringIO
) -> None:
    async with harness(tmp_path) as h:
        settings = h.runtime.settings
        start_logging(replace(settings, log_level="DEBUG", log_format="json"), log_stream)
        # A failed create after GitHub accepted it: retried, logged with the error text.
        h.fake.fail_next("POST", rf"/repos/{REPO}/issues", 502, after=True)
        await h.deliver("workflow_run", failing_secret_scan(), delivery_id="d-logged")
        await h.drain()
        h.clock.advance(3600)
        await h.drain()
        tokens = list(h.fake._tokens)  # the installation tokens the fake handed out
        assert tokens
        # Even a careless line cannot print them.
        logging.getLogger("watchkeeper.test").error(
            "careless: token %s secret %s key %s", tokens[0], SECRET, settings.private_key)

    output = log_stream.getvalue()
    lines = [json.loads(line) for line in output.splitlines()]
    assert lines, "nothing was logged"
    for token in tokens:
        assert token not in output
    assert SECRET not in output
    for key_line in settings.private_key.strip().splitlines()[1:-1]:
        assert key_line not in output
    assert not re.search(r"gh[opusr]_[A-Za-z0-9]{20,}", output)
    assert "careless: token [redacted] secret [redacted] key [redacted]" in output

    delivered = [ln for ln in lines if ln.get("delivery_id") == "d-logged"]
    assert any(ln["level"] == "warning" and "retrying" in ln["message"] for ln in delivered)
    # The retry finds the issue the lost answer had created, and says so in its context.
    found = [ln for ln in delivered if "by its marker" in ln["message"]]
    assert found and found[0]["incident_id"] == "INC-2026-0001"
    assert found[0]["installation_id"] == 7


def test_every_configured_secret_is_redacted(log_stream: io.StringIO) -> None:
    from watchkeeper.github.fake import demo_private_key
    from watchkeeper.settings import Settings

    hook = "https://hooks.slack.example/services/T0000/B0000/abcdefghijklmnop"
    settings = Settings.from_env({
        "APP_ID": "1", "PRIVATE_KEY": demo_private_key(),
        "WEBHOOK_SECRET": "new-secret-1,old-secret-2",
        "ALERTS_TOKEN": "alerts-token-0123456789", "LOG_FORMAT": "json",
        "NOTIFY_TARGETS": json.dumps({"pager": {
            "type": "webhook", "url": hook,
            "headers": {"Authorization": "Bearer pager-key-42"}}}),
    })
    start_logging(settings, log_stream)
    logging.getLogger("watchkeeper.test").warning(
        "%s %s %s %s %s", "new-secret-1", "old-secret-2", "alerts-token-0123456789", hook,
        "Bearer pager-key-42")
    [line] = [json.loads(text) for text in log_stream.getvalue().splitlines()]
    assert line["message"] == " ".join(["[redacted]"] * 5)
