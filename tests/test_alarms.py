"""Production alarms, pure: repository_dispatch and Alertmanager bodies read into Alarms,
and the ordinary decide() opening, joining and recovering incidents from them."""

from __future__ import annotations

import copy
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from watchkeeper.actions import Comment, EnsureLabels, OpenIssue, UpdateIssueSections
from watchkeeper.alarms.alertmanager import InvalidAlerts, parse_alertmanager
from watchkeeper.alarms.dispatch import parse_dispatch
from watchkeeper.alarms.model import (
    Alarm,
    alarm_from_json,
    alarm_match,
    alarm_signal,
    map_severity,
)
from watchkeeper.incident import decide
from watchkeeper.runbook.config import default_config
from watchkeeper.signals.payload import MalformedPayload

CONFIG = default_config()
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def dispatch(client_payload: object, action: str = "incident") -> dict[str, Any]:
    """GitHub's documented repository_dispatch shape (no octokit example exists):
    action = the event_type sent to POST /repos/{owner}/{repo}/dispatches, branch,
    client_payload, repository, sender, installation."""
    return {
        "action": action,
        "branch": "main",
        "client_payload": client_payload,
        "repository": {"id": 1, "name": "payments", "full_name": "octo-org/payments",
                       "owner": {"login": "octo-org", "type": "Organization"},
                       "private": True, "default_branch": "main"},
        "sender": {"login": "deploy-bot", "type": "User"},
        "installation": {"id": 7, "node_id": "IN_7"},
    }


# An Alertmanager webhook as its documentation describes it (version 4).
ALERTMANAGER: dict[str, Any] = {
    "version": "4",
    "groupKey": '{}:{alertname="CheckoutErrors"}',
    "truncatedAlerts": 0,
    "status": "firing",
    "receiver": "watchkeeper",
    "groupLabels": {"alertname": "CheckoutErrors"},
    "commonLabels": {"alertname": "CheckoutErrors", "severity": "critical"},
    "commonAnnotations": {},
    "externalURL": "https://alertmanager.example",
    "alerts": [{
        "status": "firing",
        "labels": {"alertname": "CheckoutErrors", "severity": "critical",
                   "repository": "octo-org/payments", "service": "checkout"},
        "annotations": {"summary": "Checkout error rate above 5%",
                        "description": "5xx ratio 0.07 for 10m"},
        "startsAt": "2026-03-02T08:58:30.123456789Z",
        "endsAt": "0001-01-01T00:00:00Z",
        "generatorURL": "https://prometheus.example/graph?g0.expr=x",
        "fingerprint": "a1b2c3d4e5f60718",
    }],
}


def am(**alert_changes: Any) -> dict[str, Any]:
    body = copy.deepcopy(ALERTMANAGER)
    body["alerts"][0].update(alert_changes)
    return body


# --- repository_dispatch ----------------------------------------------------------------

def test_a_dispatch_becomes_a_firing_alarm() -> None:
    alarm = parse_dispatch(dispatch({"title": "Checkout  error rate above 5%",
                                     "severity": "high", "service": "checkout",
                                     "summary": "5xx ratio 0.07", "dedup_key": "checkout-5xx"}),
                           delivery_id="d-1", received_at=T0)
    assert alarm == Alarm(origin="repository_dispatch", repo="octo-org/payments",
                          status="firing", title="Checkout error rate above 5%",
                          dedup_key="checkout-5xx", at=T0,
                          event_key="repository_dispatch:d-1", severity="high",
                          service="checkout", summary="5xx ratio 0.07", sender="deploy-bot")


def test_dispatch_defaults_and_other_event_types() -> None:
    alarm = parse_dispatch(dispatch({"service": "checkout", "status": "resolved"}),
                           delivery_id="d-2", received_at=T0)
    assert alarm is not None
    assert (alarm.title, alarm.dedup_key, alarm.status) == (
        "Production alarm on checkout", "title:Production alarm on checkout", "resolved")
    assert parse_dispatch(dispatch({"title": "x"}, action="deploy"), delivery_id="d",
                          received_at=T0) is None


@pytest.mark.parametrize("client_payload", [
    ["not", "an", "object"], {"title": {"nested": 1}}, {"status": "exploded"},
    {"severity": True},
])
def test_a_malformed_dispatch_is_refused(client_payload: object) -> None:
    with pytest.raises(MalformedPayload):
        parse_dispatch(dispatch(client_payload), delivery_id="d", received_at=T0)


# --- Alertmanager ------------------------------------------------------------------------

def test_an_alertmanager_alert_becomes_an_alarm() -> None:
    (alarm,) = parse_alertmanager(ALERTMANAGER).alarms
    started = datetime(2026, 3, 2, 8, 58, 30, 123456, tzinfo=UTC)
    assert alarm == Alarm(
        origin="alertmanager", repo="octo-org/payments", status="firing",
        title="Checkout error rate above 5%", dedup_key="a1b2c3d4e5f60718", at=started,
        event_key=f"alertmanager:a1b2c3d4e5f60718:{started.isoformat()}:firing",
        severity="critical", service="checkout", summary="5xx ratio 0.07 for 10m",
        url="https://prometheus.example/graph?g0.expr=x", alertname="CheckoutErrors")
    assert alarm_from_json(alarm.to_json()) == alarm


def test_resolved_alerts_happen_at_their_end_and_labels_choose_the_dedup_key() -> None:
    body = am(status="resolved", endsAt="2026-03-02T09:30:00Z")
    body["alerts"][0]["labels"]["dedup_key"] = "checkout"
    (alarm,) = parse_alertmanager(body).alarms
    assert (alarm.status, alarm.at, alarm.dedup_key) == (
        "resolved", datetime(2026, 3, 2, 9, 30, tzinfo=UTC), "checkout")


def test_alerts_without_a_repository_are_ignored_with_a_reason() -> None:
    body = am()
    body["alerts"].append({**ALERTMANAGER["alerts"][0], "labels": {"alertname": "Other"}})
    body["alerts"].append({**ALERTMANAGER["alerts"][0],
                           "labels": {"repository": "../../etc/passwd"}})
    batch = parse_alertmanager(body)
    assert len(batch.alarms) == 1
    assert batch.ignored == ("alerts[1]: no usable repository label (owner/name)",
                             "alerts[2]: no usable repository label (owner/name)")


@pytest.mark.parametrize(("body", "message"), [
    ([], "the body must be a JSON object"),
    ({"version": "3", "alerts": []}, 'only the Alertmanager webhook version "4"'),
    ({"version": 4, "alerts": []}, 'only the Alertmanager webhook version "4"'),
    ({"version": "4", "alerts": []}, "alerts must be a non-empty list"),
    ({"version": "4", "alerts": {"a": 1}}, "alerts must be a non-empty list"),
    ({"version": "4", "alerts": [{}] * 501}, "at most 500 alerts"),
    ({"version": "4", "alerts": ["x"]}, r"alerts\[0\] must be an object"),
    (am(status="pending"), r"alerts\[0\].status must be firing or resolved"),
    (am(labels=["repository"]), r"alerts\[0\].labels must be an object of strings"),
    (am(labels={"repository": 7}), r"alerts\[0\].labels must map names to strings"),
    (am(labels={f"l{i}": "v" for i in range(65)}), "more than 64 entries"),
    (am(annotations={"summary": "x" * 5000}), "values up to 4000"),
    (am(startsAt=None), r"alerts\[0\].startsAt is required"),
    (am(startsAt="yesterday"), "must be an RFC 3339 time"),
    (am(startsAt="0001-01-01T00:00:00Z"), "must be a real time"),
    (am(endsAt=12), "must be an RFC 3339 time"),
    (am(fingerprint="<script>"), "fingerprint has unexpected characters"),
    (am(generatorURL=["x"]), "generatorURL must be a string"),
])
def test_malformed_bodies_are_refused_with_what_is_wrong(body: object, message: str) -> None:
    with pytest.raises(InvalidAlerts, match=message):
        parse_alertmanager(body)


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner,
                                                                max_size=4),
    max_leaves=25,
)
_alert = st.fixed_dictionaries({}, optional={
    "status": st.sampled_from(["firing", "resolved", "x"]) | _json,
    "labels": st.dictionaries(st.sampled_from(["repository", "severity", "dedup_key", "job"]),
                              st.sampled_from(["octo-org/payments", "a/b", "", "../x"]) | _json),
    "annotations": _json,
    "startsAt": st.sampled_from(["2026-03-02T09:00:00Z", "0001-01-01T00:00:00Z", ""]) | _json,
    "endsAt": _json,
    "fingerprint": _json,
    "generatorURL": _json,
})


@settings(max_examples=300, deadline=None)
@given(st.fixed_dictionaries({"version": st.sampled_from(["4", 4, None]),
                              "alerts": st.lists(_alert, max_size=3) | _json}) | _json)
def test_any_json_is_parsed_or_refused_never_crashes(body: object) -> None:
    try:
        batch = parse_alertmanager(body)
    except InvalidAlerts as exc:
        assert str(exc)
        return
    for alarm in batch.alarms:
        assert alarm_from_json(alarm.to_json()) == alarm


# --- deciding -----------------------------------------------------------------------------

def test_severity_words_map_to_the_runbooks_levels() -> None:
    assert [map_severity(w) for w in ("critical", "Page", "error", "warning", "info", None,
                                      "banana")] == [
        "critical", "critical", "high", "medium", "low", "medium", "medium"]


def test_both_doors_share_the_fingerprint_for_one_dedup_key() -> None:
    (from_am,) = parse_alertmanager(am(labels={"repository": "octo-org/payments",
                                               "dedup_key": "checkout-5xx"})).alarms
    from_dispatch = parse_dispatch(dispatch({"title": "x", "dedup_key": "checkout-5xx"}),
                                   delivery_id="d", received_at=T0)
    assert from_dispatch is not None
    assert alarm_match(from_am, CONFIG).fingerprint == \
        alarm_match(from_dispatch, CONFIG).fingerprint == \
        "octo-org/payments|alarm|checkout-5xx|*"
    tracked = replace(CONFIG, incidents_repository="octo-org/incidents")
    assert alarm_match(from_am, tracked).tracker_repo == "octo-org/incidents"


def test_firing_opens_again_joins_and_resolved_records_the_recovery() -> None:
    (firing,) = parse_alertmanager(ALERTMANAGER).alarms
    match = alarm_match(firing, CONFIG)
    now = firing.at + timedelta(seconds=30)
    opened = decide(None, alarm_signal(firing, 7), match, CONFIG, now, "INC-2026-0009")
    incident = opened.incident
    assert incident is not None
    assert (incident.source, incident.rule, incident.severity, incident.repo) == (
        "alarm", "alarm", "critical", "octo-org/payments")
    assert incident.title == "Checkout error rate above 5%"
    assert ("service", "checkout") in incident.facts
    assert [type(a) for a in opened.actions] == [EnsureLabels, OpenIssue]
    assert "source:alarm" in opened.actions[1].labels  # type: ignore[union-attr]

    again = replace(firing, at=firing.at + timedelta(minutes=20),
                    event_key="alertmanager:a1b2c3d4e5f60718:later:firing")
    joined = decide(incident, alarm_signal(again, 7), match, CONFIG,
                    again.at + timedelta(seconds=5), "")
    assert joined.incident is not None and joined.incident.occurrences.count == 2
    assert joined.incident.id == "INC-2026-0009"

    resolved = replace(firing, status="resolved", at=firing.at + timedelta(minutes=40),
                       event_key="alertmanager:a1b2c3d4e5f60718:x:resolved")
    recovered = decide(joined.incident, alarm_signal(resolved, 7), match, CONFIG,
                       resolved.at + timedelta(seconds=5), "")
    assert recovered.incident is not None
    entry = recovered.incident.timeline[-1]
    assert (entry.kind, entry.text, entry.at) == (
        "recovered", "Signal recovered: Checkout error rate above 5%", resolved.at)
    assert [type(a) for a in recovered.actions] == [UpdateIssueSections, Comment]
    # A resolved alarm with no incident open changes nothing.
    assert decide(None, alarm_signal(resolved, 7), match, CONFIG, T0, "").incident is None
