"""Notifications, pure parts and the HTTP sender: targets from settings, the Notify
actions features append, the messages, and sending to a local receiver."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from watchkeeper.actions import EnsureLabels, OpenIssue
from watchkeeper.github.fake import demo_private_key
from watchkeeper.incident import decide
from watchkeeper.notifier import Notifier
from watchkeeper.notify import Notify, NotifyTarget, TargetError, notifications_for, parse_targets
from watchkeeper.notify.message import slack_body, web_url, webhook_body
from watchkeeper.record import Incident, TimelineEntry
from watchkeeper.runbook.config import default_config
from watchkeeper.runbook.model import Match
from watchkeeper.settings import Settings, SettingsError
from watchkeeper.signals.model import RepoRef, Signal

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
CONFIG = replace(default_config(), notify=("security-slack", "pager"))
SLACK_URL = "https://hooks.slack.example/services/T000/B000/very-secret-path"


def incident(**changes: object) -> Incident:
    base = Incident(
        id="INC-2026-0007", fingerprint="fp", repo="octo-org/payments",
        tracker_repo="octo-org/security-incidents", installation_id=7, severity="critical",
        status="open", rule="secret_scan", source="workflow_run",
        title="Workflow <Secret scan> failed & @channel", detected_at=T0,
        recorded_at=T0 + timedelta(minutes=2), issue_number=12,
        timeline=(TimelineEntry(T0, "watchkeeper", "detected", "Detected"),),
    )
    return replace(base, **changes)


# --- notifications_for -------------------------------------------------------------

def test_no_target_named_in_config_means_no_action() -> None:
    assert notifications_for(incident(), "opened", default_config()) == ()


def test_one_action_naming_every_configured_target() -> None:
    (action,) = notifications_for(incident(), "severity_changed", CONFIG,
                                  "Severity changed from high to critical",
                                  now=T0 + timedelta(hours=1))
    assert action == Notify("INC-2026-0007", "severity_changed",
                            "Severity changed from high to critical",
                            ("security-slack", "pager"), action.key, T0 + timedelta(hours=1))
    assert action.key.startswith("severity_changed:INC-2026-0007:1:")


def test_keys_are_stable_for_the_same_record_and_differ_for_a_new_event() -> None:
    first = notifications_for(incident(), "status_update", CONFIG, "Contained")[0]
    again = notifications_for(incident(), "status_update", CONFIG, "Contained")[0]
    later = incident(timeline=(*incident().timeline,
                               TimelineEntry(T0, "alice", "status_update", "x")))
    assert first.key == again.key
    assert notifications_for(later, "status_update", CONFIG, "Contained")[0].key != first.key
    assert notifications_for(incident(), "opened", CONFIG)[0].key == "opened:INC-2026-0007"
    assert notifications_for(incident(), "sla_breach", CONFIG, key="breach:contain")[0].key \
        == "breach:contain"


def test_the_event_time_defaults_to_the_latest_timeline_entry() -> None:
    assert notifications_for(incident(), "closed", CONFIG)[0].at == T0


def test_an_unknown_event_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="unknown notification event"):
        notifications_for(incident(), "paged", CONFIG)


def test_an_opened_incident_notifies_after_the_issue_is_opened() -> None:
    signal = Signal(kind="detection", source="workflow_run",
                    repo=RepoRef("octo-org", "payments"), subject="scan", event_key="k",
                    occurred_at=T0, title="Secret scan failed", installation_id=7)
    match = Match("secret_scan", "critical", "fp", "octo-org/payments")
    actions = decide(None, signal, match, CONFIG, T0, "INC-2026-0001").actions
    assert [type(a) for a in actions] == [EnsureLabels, OpenIssue, Notify]
    assert actions[-1].targets == ("security-slack", "pager")  # type: ignore[union-attr]
    quiet = decide(None, signal, match, default_config(), T0, "INC-2026-0001").actions
    assert [type(a) for a in quiet] == [EnsureLabels, OpenIssue]


# --- targets from settings -----------------------------------------------------------

def test_targets_parse_with_their_kind_and_headers() -> None:
    targets = parse_targets({
        "security-slack": {"type": "slack", "url": SLACK_URL},
        "pager": {"url": "http://10.0.0.5:8080/hook", "headers": {"X-Token": "s3cret"}},
    })
    assert targets == (
        NotifyTarget("security-slack", "slack", SLACK_URL),
        NotifyTarget("pager", "webhook", "http://10.0.0.5:8080/hook", (("X-Token", "s3cret"),)),
    )
    assert "very-secret-path" not in repr(targets) and "s3cret" not in repr(targets)


@pytest.mark.parametrize(("data", "message"), [
    ([], "mapping of name to target"),
    ({"bad name!": {"url": SLACK_URL}}, "names use letters"),
    ({"x": "https://example.test"}, "must be a mapping"),
    ({"x": {"type": "email", "url": SLACK_URL}}, "type must be slack or webhook"),
    ({"x": {"url": "ftp://example.test/hook"}}, "url must be an http"),
    ({"x": {"url": "https:///nohost"}}, "url must be an http"),
    ({"x": {"url": "https://example.test/a b"}}, "url must be an http"),
    ({"x": {"url": SLACK_URL, "secret": "y"}}, "unknown keys: secret"),
    ({"x": {"url": SLACK_URL, "headers": {"Host": "evil"}}}, "invalid header name"),
    ({"x": {"url": SLACK_URL, "headers": {"X-A": "a\r\nX-B: b"}}}, "one-line text value"),
    ({"x": {"url": SLACK_URL, "headers": ["X-A"]}}, "headers must be a mapping"),
])
def test_unusable_targets_are_refused_without_showing_secrets(data: object,
                                                              message: str) -> None:
    with pytest.raises(TargetError, match=message) as caught:
        parse_targets(data)
    assert "very-secret-path" not in str(caught.value)


def env(**extra: str) -> dict[str, str]:
    return {"APP_ID": "1", "PRIVATE_KEY": demo_private_key(), "WEBHOOK_SECRET": "s", **extra}


def test_settings_read_targets_from_json_or_a_file(tmp_path: Path) -> None:
    inline = json.dumps({"security-slack": {"type": "slack", "url": SLACK_URL}})
    assert Settings.from_env(env(NOTIFY_TARGETS=inline)).notify_targets == (
        NotifyTarget("security-slack", "slack", SLACK_URL),)
    path = tmp_path / "notify.yml"
    path.write_text(f"pager:\n  type: webhook\n  url: {SLACK_URL}\n", encoding="utf-8")
    settings = Settings.from_env(env(NOTIFY_CONFIG=str(path)))
    assert settings.notify_targets == (NotifyTarget("pager", "webhook", SLACK_URL),)
    assert "very-secret-path" not in repr(settings)
    assert Settings.from_env(env()).notify_targets == ()


@pytest.mark.parametrize(("extra", "message"), [
    ({"NOTIFY_TARGETS": "{", "NOTIFY_CONFIG": "/x"}, "not both"),
    ({"NOTIFY_TARGETS": "{not json"}, "NOTIFY_TARGETS is not valid JSON"),
    ({"NOTIFY_TARGETS": '{"x": {"url": "gopher://h/' + 'very-secret-path"}}'},
     "NOTIFY_TARGETS: notification target 'x': url"),
    ({"NOTIFY_CONFIG": "/nonexistent/notify.yml"}, "NOTIFY_CONFIG cannot be read"),
    ({"ALERTS_TOKEN": "short"}, "ALERTS_TOKEN must be at least 16"),
])
def test_bad_notification_and_alert_settings_fail_at_start(extra: dict[str, str],
                                                           message: str) -> None:
    with pytest.raises(SettingsError, match=message) as caught:
        Settings.from_env(env(**extra))
    assert "very-secret-path" not in str(caught.value)


def test_the_alerts_token_is_a_hidden_setting() -> None:
    settings = Settings.from_env(env(ALERTS_TOKEN="t" * 32))
    assert settings.alerts_token == "t" * 32
    assert "t" * 32 not in repr(settings)
    assert Settings.from_env(env()).alerts_token is None


# --- messages -------------------------------------------------------------------------

ACTION = Notify("INC-2026-0007", "opened", "Incident opened <b>", ("x",), "opened:INC-2026-0007",
                T0 + timedelta(minutes=2))
LINK = "https://github.com/octo-org/security-incidents/issues/12"


def test_slack_text_escapes_what_slack_would_turn_into_links_or_pings() -> None:
    text = slack_body(incident(), ACTION, LINK)["text"]
    assert text == (
        "*INC-2026-0007* · critical · incident opened\n"
        "Incident opened &lt;b&gt;\n"
        "_Workflow &lt;Secret scan&gt; failed &amp; @channel_\n"
        "Status open · octo-org/security-incidents · "
        f"<{LINK}|issue> · 2026-03-02 09:02 UTC"
    )


def test_webhook_body_is_structured_data() -> None:
    body = webhook_body(incident(), ACTION, LINK)
    assert body == {
        "schema": "watchkeeper.notification/1",
        "event": "opened",
        "summary": "Incident opened <b>",
        "at": "2026-03-02T09:02:00+00:00",
        "incident": {
            "id": "INC-2026-0007", "title": "Workflow <Secret scan> failed & @channel",
            "severity": "critical", "status": "open", "repository": "octo-org/payments",
            "tracker_repository": "octo-org/security-incidents", "issue_number": 12,
            "issue_url": LINK, "detected_at": "2026-03-02T09:00:00+00:00",
        },
        "key": "opened:INC-2026-0007",
    }


@pytest.mark.parametrize(("api", "web"), [
    ("https://api.github.com", "https://github.com"),
    ("https://ghe.example.com/api/v3", "https://ghe.example.com"),
    ("http://api.github.test:8080", "http://github.test:8080"),
])
def test_web_address_from_the_api_root(api: str, web: str) -> None:
    assert web_url(api) == web


# --- the sender, against a local receiver ---------------------------------------------

def receiver(statuses: list[int], seen: list[tuple[str, dict[str, str], object]]) -> Starlette:
    async def hook(request: Request) -> Response:
        seen.append((request.url.path, dict(request.headers), await request.json()))
        status = statuses.pop(0) if statuses else 200
        headers = {"Retry-After": "7"} if status == 429 else None
        return JSONResponse({"ok": status < 300}, status_code=status, headers=headers)
    return Starlette(routes=[Route("/{name}", hook, methods=["POST"])])


async def test_sends_json_with_the_targets_headers() -> None:
    seen: list[tuple[str, dict[str, str], object]] = []
    target = NotifyTarget("pager", "webhook", "http://receiver.test/pager", (("X-Token", "s"),))
    notifier = Notifier([target], transport=httpx.ASGITransport(app=receiver([], seen)))
    result = await notifier.send(target, {"event": "opened"})
    assert result.ok and result.status == 200
    ((path, headers, body),) = seen
    assert path == "/pager" and body == {"event": "opened"}
    assert headers["x-token"] == "s" and headers["content-type"] == "application/json"
    assert headers["user-agent"] == "Watchkeeper-Notifier"


@pytest.mark.parametrize(("status", "retryable", "retry_after"), [
    (500, True, None), (503, True, None), (429, True, 7.0), (404, False, None),
    (400, False, None),
])
async def test_failures_say_whether_to_try_again(status: int, retryable: bool,
                                                 retry_after: float | None) -> None:
    seen: list[tuple[str, dict[str, str], object]] = []
    target = NotifyTarget("t", "slack", "http://receiver.test/t")
    notifier = Notifier([target], transport=httpx.ASGITransport(app=receiver([status], seen)))
    result = await notifier.send(target, {"text": "x"})
    assert (result.ok, result.retryable, result.status, result.retry_after) == (
        False, retryable, status, retry_after)
    assert result.error == f"answered HTTP {status}"


async def test_an_unreachable_target_is_retryable_and_never_shows_its_url() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError(f"cannot reach {request.url}")
    target = NotifyTarget("t", "slack", SLACK_URL)
    notifier = Notifier([target], transport=httpx.MockTransport(refuse))
    result = await notifier.send(target, {"text": "x"})
    assert (result.ok, result.retryable) == (False, True)
    assert result.error == "no answer (ConnectError)"
