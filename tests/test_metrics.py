"""Prometheus text exposition (format 0.0.4) produced by watchkeeper.metrics."""

from __future__ import annotations

import math

import pytest

from watchkeeper.metrics import CONTENT_TYPE, Counter, Gauge, Histogram, Metrics, Registry


def test_small_registry_renders_exact_text() -> None:
    registry = Registry()
    calls = registry.counter("app_calls_total", "Calls made.\nSecond line \\ here.", ["method"])
    depth = registry.gauge("app_depth", "Items waiting.")
    latency = registry.histogram("app_seconds", "Latency.", buckets=[0.1, 1])
    calls.inc(method="GET")
    calls.inc(2, method="GET")
    calls.inc(method='PO"S\\T\n')
    depth.set(3.5)
    depth.dec(1)
    latency.observe(0.05)
    latency.observe(0.1)
    latency.observe(7)

    assert registry.render() == (
        "# HELP app_calls_total Calls made.\\nSecond line \\\\ here.\n"
        "# TYPE app_calls_total counter\n"
        'app_calls_total{method="GET"} 3\n'
        'app_calls_total{method="PO\\"S\\\\T\\n"} 1\n'
        "# HELP app_depth Items waiting.\n"
        "# TYPE app_depth gauge\n"
        "app_depth 2.5\n"
        "# HELP app_seconds Latency.\n"
        "# TYPE app_seconds histogram\n"
        'app_seconds_bucket{le="0.1"} 2\n'
        'app_seconds_bucket{le="1"} 2\n'
        'app_seconds_bucket{le="+Inf"} 3\n'
        "app_seconds_sum 7.15\n"
        "app_seconds_count 3\n"
    )


def test_labelled_histogram_and_untouched_metrics() -> None:
    registry = Registry()
    registry.counter("a_total", "Labelled, untouched.", ["x"])
    registry.counter("b_total", "Unlabelled, untouched.")
    h = registry.histogram("h_seconds", "By kind.", ["kind"], buckets=[1])
    h.observe(2, kind="z")
    h.observe(0.5, kind="a")
    assert registry.render() == (
        "# HELP a_total Labelled, untouched.\n"
        "# TYPE a_total counter\n"
        "# HELP b_total Unlabelled, untouched.\n"
        "# TYPE b_total counter\n"
        "b_total 0\n"
        "# HELP h_seconds By kind.\n"
        "# TYPE h_seconds histogram\n"
        'h_seconds_bucket{kind="a",le="1"} 1\n'
        'h_seconds_bucket{kind="a",le="+Inf"} 1\n'
        'h_seconds_sum{kind="a"} 0.5\n'
        'h_seconds_count{kind="a"} 1\n'
        'h_seconds_bucket{kind="z",le="1"} 0\n'
        'h_seconds_bucket{kind="z",le="+Inf"} 1\n'
        'h_seconds_sum{kind="z"} 2\n'
        'h_seconds_count{kind="z"} 1\n'
    )
    assert h.count(kind="z") == 1


def test_special_values() -> None:
    g = Gauge("g", "G.", ["k"])
    g.set(math.inf, k="a")
    g.set(-math.inf, k="b")
    g.set(math.nan, k="c")
    g.set(-0.25, k="d")
    assert g.render().splitlines()[2:] == [
        'g{k="a"} +Inf',
        'g{k="b"} -Inf',
        'g{k="c"} NaN',
        'g{k="d"} -0.25',
    ]


def test_misuse_is_refused() -> None:
    c = Counter("c_total", "C.", ["event"])
    with pytest.raises(ValueError, match="only goes up"):
        c.inc(-1, event="x")
    with pytest.raises(ValueError, match="takes labels"):
        c.inc(event="x", extra="y")
    with pytest.raises(ValueError, match="takes labels"):
        c.inc()
    with pytest.raises(ValueError, match="invalid metric name"):
        Counter("bad-name", "x")
    with pytest.raises(ValueError, match="invalid label name"):
        Counter("ok", "x", ["__reserved"])
    with pytest.raises(ValueError, match="reserved"):
        Histogram("h", "x", ["le"])
    with pytest.raises(ValueError, match="NaN"):
        Histogram("h", "x").observe(math.nan)
    registry = Registry()
    registry.counter("dup_total", "x")
    with pytest.raises(ValueError, match="already registered"):
        registry.counter("dup_total", "x")


def test_metrics_are_per_instance_and_named_for_the_product() -> None:
    first, second = Metrics(), Metrics()
    first.deliveries_received.inc(event="issues")
    first.github_api_calls.inc(method="POST", status=201)
    first.processing_seconds.observe(0.3)
    first.set_queue_stats({"pending": 4, "dead": 1, "oldest_age_seconds": 12.5})
    first.set_incidents_open({"SEV1": 1, "SEV2": 2})
    first.set_incidents_open({"SEV2": 1})
    first.sla_breaches.inc(milestone="mitigate")
    first.github_rate_limit_remaining.set(4999, installation=42)

    assert second.deliveries_received.value(event="issues") == 0
    text = first.render()
    types = [line for line in text.splitlines() if line.startswith("# TYPE")]
    assert types == [
        "# TYPE watchkeeper_deliveries_received_total counter",
        "# TYPE watchkeeper_deliveries_processed_total counter",
        "# TYPE watchkeeper_deliveries_failed_total counter",
        "# TYPE watchkeeper_deliveries_dead_lettered_total counter",
        "# TYPE watchkeeper_queue_depth gauge",
        "# TYPE watchkeeper_queue_oldest_age_seconds gauge",
        "# TYPE watchkeeper_processing_seconds histogram",
        "# TYPE watchkeeper_github_api_calls_total counter",
        "# TYPE watchkeeper_github_rate_limit_remaining gauge",
        "# TYPE watchkeeper_incidents_open gauge",
        "# TYPE watchkeeper_sla_breaches_total counter",
    ]
    samples = [line for line in text.splitlines() if not line.startswith("#")]
    for expected in [
        'watchkeeper_deliveries_received_total{event="issues"} 1',
        "watchkeeper_deliveries_failed_total 0",
        "watchkeeper_queue_depth 4",
        "watchkeeper_queue_oldest_age_seconds 12.5",
        'watchkeeper_processing_seconds_bucket{le="0.25"} 0',
        'watchkeeper_processing_seconds_bucket{le="0.5"} 1',
        "watchkeeper_processing_seconds_count 1",
        'watchkeeper_github_api_calls_total{method="POST",status="201"} 1',
        'watchkeeper_github_rate_limit_remaining{installation="42"} 4999',
        'watchkeeper_incidents_open{severity="SEV2"} 1',
        'watchkeeper_sla_breaches_total{milestone="mitigate"} 1',
    ]:
        assert expected in samples
    assert not any("SEV1" in line for line in samples)  # dropped by the fresh snapshot
    assert CONTENT_TYPE == "text/plain; version=0.0.4; charset=utf-8"
