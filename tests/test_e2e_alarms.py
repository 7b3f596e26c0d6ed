"""End to end: production alarms through the server — repository_dispatch webhooks and
the Alertmanager-compatible receiver — opening, joining and recovering incidents; and
hostile requests to the receiver answered with a clear 4xx, never a 5xx."""

from __future__ import annotations

import asyncio
import copy
import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from starlette.applications import Starlette
from tests.support import INSTALLATION, REPO, Harness, harness, load_payload

from watchkeeper.alerts_api import alerts_route
from watchkeeper.clock import FrozenClock
from watchkeeper.store.sqlite import SqliteStore

ISSUES = rf"/repos/{REPO}/issues"
TOKEN = "alerts-token-0123456789abcdef"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def dispatch(client_payload: dict[str, Any]) -> dict[str, Any]:
    """repository_dispatch as GitHub documents it (octokit has no example): `action` is the
    event_type given to POST /repos/{owner}/{repo}/dispatches, plus branch, client_payload,
    repository, sender and installation. Repository and sender are borrowed from octokit's
    issues/opened example and pointed at the test repository."""
    base = load_payload("issues", "opened.payload")
    repository = copy.deepcopy(base["repository"])
    owner, name = REPO.split("/")
    repository.update(name=name, full_name=REPO)
    repository["owner"]["login"] = owner
    return {"action": "incident", "branch": "master", "client_payload": client_payload,
            "repository": repository, "sender": copy.deepcopy(base["sender"]),
            "installation": {"id": INSTALLATION, "node_id": "IN_7"}}


def alertmanager(status: str = "firing", ends: str = "0001-01-01T00:00:00Z",
                 repository: str = REPO) -> dict[str, Any]:
    """An Alertmanager webhook body (version 4) as its documentation describes it."""
    return {
        "version": "4", "groupKey": '{}:{alertname="AuthBypass"}', "truncatedAlerts": 0,
        "status": status, "receiver": "watchkeeper",
        "groupLabels": {"alertname": "AuthBypass"}, "commonLabels": {},
        "commonAnnotations": {}, "externalURL": "https://alertmanager.example",
        "alerts": [{
            "status": status,
            "labels": {"alertname": "AuthBypass", "severity": "critical",
                       "repository": repository, "service": "gateway"},
            "annotations": {"summary": "Requests without a session reached /admin"},
            "startsAt": "2026-11-27T09:00:00Z", "endsAt": ends,
            "generatorURL": "https://prometheus.example/graph?g0.expr=auth",
            "fingerprint": "0f1e2d3c4b5a6978",
        }],
    }


async def post_alerts(h: Harness, body: object, headers: dict[str, str] | None = None) -> Any:
    return await h.client.post("/api/alerts", content=json.dumps(body).encode(),
                               headers={"Content-Type": "application/json",
                                        **(AUTH if headers is None else headers)})


async def stored(h: Harness, number: int = 1) -> Any:
    incident = await h.runtime.store.incident_for_issue(REPO, number)
    assert incident is not None
    return incident


async def test_a_dispatched_alarm_opens_joins_and_recovers_one_incident(
        tmp_path: Path) -> None:
    async with harness(tmp_path) as h:
        alarm = {"title": "Checkout error rate above 5%", "severity": "high",
                 "service": "checkout", "summary": "5xx ratio 0.07",
                 "dedup_key": "checkout-5xx"}
        assert (await h.deliver("repository_dispatch", dispatch(alarm))).status_code == 202
        await h.drain()
        (create,) = h.fake.calls("POST", rf"{ISSUES}$")
        assert create.json["title"] == "[INC-2026-0001] high: Checkout error rate above 5%"
        assert sorted(create.json["labels"]) == ["incident", "severity:high", "source:alarm",
                                                 "status:open"]
        assert "Production alarm" in create.json["body"]
        record = await stored(h)
        assert record.detected_at == h.clock.now() and record.rule == "alarm"

        h.clock.advance(300)  # fires again: joins, no second issue
        await h.deliver("repository_dispatch", dispatch(alarm))
        await h.drain()
        assert len(h.fake.calls("POST", rf"{ISSUES}$")) == 1
        assert (await stored(h)).occurrences.count == 2

        h.clock.advance(300)
        await h.deliver("repository_dispatch", dispatch({**alarm, "status": "resolved"}))
        await h.drain()
        entry = (await stored(h)).timeline[-1]
        assert (entry.kind, entry.text) == ("recovered",
                                            "Signal recovered: Checkout error rate above 5%")
        assert len(h.fake.calls("POST", rf"{ISSUES}/1/comments")) == 1

        # Another dispatch event type is none of Watchkeeper's business.
        before = len(h.fake.requests)
        await h.deliver("repository_dispatch", {**dispatch(alarm), "action": "deploy"})
        await h.drain()
        assert h.fake.requests[before:] == []


async def test_alertmanager_alerts_open_and_recover_an_incident(tmp_path: Path) -> None:
    async with harness(tmp_path, env={"ALERTS_TOKEN": TOKEN}) as h:
        response = await post_alerts(h, alertmanager())
        assert response.status_code == 202
        assert response.json() == {"accepted": 1, "duplicates": 0, "ignored": []}
        assert h.fake.requests == []  # nothing reaches GitHub on the request path
        await h.drain()
        lookup = h.fake.calls("GET", rf"/repos/{REPO}/installation")
        assert len(lookup) == 1 and lookup[0].installation_id is None  # asked as the app
        (create,) = h.fake.calls("POST", rf"{ISSUES}$")
        assert create.json["title"] == \
            "[INC-2026-0001] critical: Requests without a session reached /admin"
        record = await stored(h)
        assert record.installation_id == INSTALLATION
        assert record.detected_at.isoformat() == "2026-11-27T09:00:00+00:00"
        assert ("service", "gateway") in record.facts

        # Alertmanager repeats a firing alert: stored once, processed once.
        again = await post_alerts(h, alertmanager())
        assert again.json() == {"accepted": 0, "duplicates": 1, "ignored": []}
        assert await h.drain() == 0

        resolved = await post_alerts(h, alertmanager("resolved", "2026-11-27T09:20:00Z"))
        assert resolved.status_code == 202
        await h.drain()
        entry = (await stored(h)).timeline[-1]
        assert (entry.kind, entry.at.isoformat()) == ("recovered", "2026-11-27T09:20:00+00:00")
        assert entry.text == "Signal recovered: Requests without a session reached /admin"


async def test_an_alert_for_a_repository_without_the_app_is_a_dead_letter(
        tmp_path: Path) -> None:
    async with harness(tmp_path, env={"ALERTS_TOKEN": TOKEN}) as h:
        response = await post_alerts(h, alertmanager(repository="other-org/unknown"))
        assert response.status_code == 202
        await h.drain()
        assert h.fake.calls("POST", r"/repos/.*/issues$") == []
        (dead,) = await h.runtime.store.dead_letters()
        assert dead.event == "watchkeeper_alert"
        assert "not installed" in (dead.last_error or "")


async def test_an_alert_event_forged_through_the_webhook_is_ignored(tmp_path: Path) -> None:
    async with harness(tmp_path, env={"ALERTS_TOKEN": TOKEN}) as h:
        # Even with the webhook secret, a webhook cannot pose as a stored alert.
        body = {"origin": "alertmanager", "repo": REPO, "status": "firing", "title": "x",
                "dedup_key": "k", "at": "2026-11-27T09:00:00+00:00", "event_key": "k"}
        assert (await h.deliver("watchkeeper_alert", body)).status_code == 202
        await h.drain()
        assert h.fake.requests == []


async def test_the_receiver_is_off_without_a_token(tmp_path: Path) -> None:
    async with harness(tmp_path) as h:
        response = await post_alerts(h, alertmanager())
        assert response.status_code == 404
        assert "disabled" in response.json()["error"]
        assert await h.drain() == 0


HOSTILE: list[tuple[dict[str, str], bytes, int, str]] = [
    ({}, b"{}", 401, "bearer token"),
    ({"Authorization": "Bearer wrong-token-0123456789"}, b"{}", 401, "bearer token"),
    ({"Authorization": f"Basic {TOKEN}"}, b"{}", 401, "bearer token"),
    ({"Authorization": f"Bearer {TOKEN}x"}, b"{}", 401, "bearer token"),
    (AUTH, b"not json", 400, "not valid JSON"),
    (AUTH, b"\xff\xfe\x00", 400, "not valid JSON"),
    (AUTH, b"[" * 100_000, 400, "not valid JSON"),
    (AUTH, b"[1, 2]", 422, "JSON object"),
    (AUTH, b'{"version": "4", "alerts": "all of them"}', 422, "non-empty list"),
    (AUTH, json.dumps({**alertmanager(), "version": "3"}).encode(), 422, "version"),
    (AUTH, json.dumps(alertmanager(repository="no-slash")).encode(), 422,
     "no alert names a repository"),
    (AUTH, b'{"version": "4", "alerts": [' + b'{"status": "firing"},' * 600 + b'{}]}', 422,
     "at most 500"),
    (AUTH, b'{"a": "' + b"x" * (5 * 1024 * 1024) + b'"}', 413, "too large"),
]


@pytest.mark.parametrize(("headers", "body", "status", "message"), HOSTILE)
async def test_hostile_requests_get_a_clear_4xx(tmp_path: Path, headers: dict[str, str],
                                                body: bytes, status: int,
                                                message: str) -> None:
    async with harness(tmp_path, env={"ALERTS_TOKEN": TOKEN}) as h:
        response = await h.client.post("/api/alerts", content=body, headers=headers)
        assert response.status_code == status
        assert message in response.json()["error"]
        if status == 401:
            assert response.headers["www-authenticate"] == 'Bearer realm="watchkeeper"'
        assert await h.drain() == 0
        assert h.fake.requests == []


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=10),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner,
                                                                max_size=3),
    max_leaves=20,
)


@settings(max_examples=150, deadline=None)
@given(body=st.one_of(
    _json.map(lambda v: json.dumps(v).encode()),
    st.binary(max_size=200),
    st.builds(lambda alerts: json.dumps({"version": "4", "alerts": alerts}).encode(),
              st.lists(st.dictionaries(
                  st.sampled_from(["status", "labels", "annotations", "startsAt", "endsAt",
                                   "fingerprint", "generatorURL"]), _json), max_size=3)),
))
def test_no_body_makes_the_receiver_fail(body: bytes) -> None:
    async def post() -> httpx.Response:
        store = SqliteStore(":memory:", threaded=False)
        app = Starlette(routes=[alerts_route(TOKEN, store, FrozenClock())])
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        try:
            async with httpx.AsyncClient(transport=transport, base_url="http://wk.test") as c:
                return await c.post("/api/alerts", content=body, headers=AUTH)
        finally:
            await store.close()

    response = asyncio.run(post())
    assert response.status_code in (202, 400, 413, 422), response.text
