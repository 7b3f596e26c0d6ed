"""Prometheus metrics in the text exposition format 0.0.4, without a client library.

Eleven metrics do not justify a dependency. A ``Metrics`` object belongs to one app instance, so
tests (and a demo running next to a server) never share counts through a module global. Gauges
that mirror state (queue depth, open incidents) are meant to be set when ``/metrics`` is scraped.
"""

from __future__ import annotations

import math
import re
import threading
from collections.abc import Iterable, Iterator, Mapping
from typing import TypeVar

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
PROCESSING_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)

_METRIC_NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
_LABEL_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")

LabelValues = tuple[str, ...]


class _Metric:
    kind = "untyped"

    def __init__(self, name: str, help: str, labelnames: Iterable[str] = ()) -> None:
        if _METRIC_NAME.fullmatch(name) is None:
            raise ValueError(f"invalid metric name: {name!r}")
        self.name = name
        self.help = help
        self.labelnames: tuple[str, ...] = tuple(labelnames)
        for label in self.labelnames:
            if _LABEL_NAME.fullmatch(label) is None or label.startswith("__"):
                raise ValueError(f"invalid label name: {label!r}")
        self._lock = threading.Lock()

    def _key(self, labels: Mapping[str, object]) -> LabelValues:
        if set(labels) != set(self.labelnames):
            raise ValueError(f"{self.name} takes labels {self.labelnames}, got {tuple(labels)}")
        return tuple(str(labels[n]) for n in self.labelnames)

    def _samples(self) -> Iterator[str]:
        raise NotImplementedError

    def render(self) -> str:
        head = f"# HELP {self.name} {_escape_help(self.help)}\n# TYPE {self.name} {self.kind}\n"
        return head + "".join(line + "\n" for line in self._samples())


class _Valued(_Metric):
    """A value per label set; an unlabelled metric shows 0 before it is first touched."""

    def __init__(self, name: str, help: str, labelnames: Iterable[str] = ()) -> None:
        super().__init__(name, help, labelnames)
        self._values: dict[LabelValues, float] = {} if self.labelnames else {(): 0.0}

    def value(self, **labels: object) -> float:
        return self._values.get(self._key(labels), 0.0)

    def _add(self, amount: float, labels: Mapping[str, object]) -> None:
        key = self._key(labels)
        with self._lock:
            self._values[key] = self._values.get(key, 0.0) + amount

    def _samples(self) -> Iterator[str]:
        with self._lock:
            items = sorted(self._values.items())
        for key, value in items:
            yield f"{self.name}{_labels(self.labelnames, key)} {_number(value)}"


class Counter(_Valued):
    kind = "counter"

    def inc(self, amount: float = 1.0, **labels: object) -> None:
        if amount < 0:
            raise ValueError("a counter only goes up")
        self._add(amount, labels)


class Gauge(_Valued):
    kind = "gauge"

    def set(self, value: float, **labels: object) -> None:
        key = self._key(labels)
        with self._lock:
            self._values[key] = float(value)

    def inc(self, amount: float = 1.0, **labels: object) -> None:
        self._add(amount, labels)

    def dec(self, amount: float = 1.0, **labels: object) -> None:
        self._add(-amount, labels)

    def clear(self) -> None:
        """Forget every label set (before setting a fresh snapshot, so gone labels vanish)."""
        with self._lock:
            self._values = {} if self.labelnames else {(): 0.0}


class Histogram(_Metric):
    kind = "histogram"

    def __init__(
        self,
        name: str,
        help: str,
        labelnames: Iterable[str] = (),
        buckets: Iterable[float] = PROCESSING_BUCKETS,
    ) -> None:
        super().__init__(name, help, labelnames)
        if "le" in self.labelnames:
            raise ValueError("'le' is reserved for histogram buckets")
        bounds = sorted(float(b) for b in buckets if not math.isinf(float(b)))
        if not bounds or len(set(bounds)) != len(bounds):
            raise ValueError("histogram buckets must be distinct and not empty")
        self.buckets: tuple[float, ...] = (*bounds, math.inf)
        # per label set: [count per bucket (not cumulative)..., sum]
        self._series: dict[LabelValues, list[float]] = {}
        if not self.labelnames:
            self._series[()] = [0.0] * (len(self.buckets) + 1)

    def observe(self, value: float, **labels: object) -> None:
        if math.isnan(value):
            raise ValueError("cannot observe NaN")
        key = self._key(labels)
        index = next(i for i, bound in enumerate(self.buckets) if value <= bound)
        with self._lock:
            series = self._series.setdefault(key, [0.0] * (len(self.buckets) + 1))
            series[index] += 1
            series[-1] += value

    def count(self, **labels: object) -> int:
        series = self._series.get(self._key(labels))
        return int(sum(series[:-1])) if series else 0

    def _samples(self) -> Iterator[str]:
        with self._lock:
            items = sorted((key, list(series)) for key, series in self._series.items())
        for key, series in items:
            running = 0.0
            for bound, hits in zip(self.buckets, series[:-1], strict=True):
                running += hits
                labels = _labels((*self.labelnames, "le"), (*key, _number(bound)))
                yield f"{self.name}_bucket{labels} {_number(running)}"
            plain = _labels(self.labelnames, key)
            yield f"{self.name}_sum{plain} {_number(series[-1])}"
            yield f"{self.name}_count{plain} {_number(running)}"


_M = TypeVar("_M", bound=_Metric)


class Registry:
    """Metrics rendered in registration order; names are unique."""

    def __init__(self) -> None:
        self._metrics: dict[str, _Metric] = {}

    def register(self, metric: _M) -> _M:
        if metric.name in self._metrics:
            raise ValueError(f"metric {metric.name} is already registered")
        self._metrics[metric.name] = metric
        return metric

    def counter(self, name: str, help: str, labelnames: Iterable[str] = ()) -> Counter:
        return self.register(Counter(name, help, labelnames))

    def gauge(self, name: str, help: str, labelnames: Iterable[str] = ()) -> Gauge:
        return self.register(Gauge(name, help, labelnames))

    def histogram(
        self,
        name: str,
        help: str,
        labelnames: Iterable[str] = (),
        buckets: Iterable[float] = PROCESSING_BUCKETS,
    ) -> Histogram:
        return self.register(Histogram(name, help, labelnames, buckets))

    def render(self) -> str:
        return "".join(metric.render() for metric in self._metrics.values())


class Metrics:
    """The metrics Watchkeeper exports; create one per app."""

    def __init__(self, prefix: str = "watchkeeper_") -> None:
        r = self.registry = Registry()
        p = prefix
        self.deliveries_received = r.counter(
            f"{p}deliveries_received_total", "Webhook deliveries accepted and queued.", ["event"]
        )
        self.deliveries_processed = r.counter(
            f"{p}deliveries_processed_total", "Deliveries processed to completion.", ["event"]
        )
        self.deliveries_failed = r.counter(
            f"{p}deliveries_failed_total", "Processing attempts that failed (each retry counts)."
        )
        self.deliveries_dead_lettered = r.counter(
            f"{p}deliveries_dead_lettered_total", "Deliveries given up on and kept for inspection."
        )
        self.queue_depth = r.gauge(f"{p}queue_depth", "Deliveries waiting to be processed.")
        self.queue_oldest_age_seconds = r.gauge(
            f"{p}queue_oldest_age_seconds", "Age of the oldest waiting delivery."
        )
        self.processing_seconds = r.histogram(
            f"{p}processing_seconds", "Time to process one delivery, GitHub calls included."
        )
        self.github_api_calls = r.counter(
            f"{p}github_api_calls_total",
            "GitHub API requests by method and HTTP status.",
            ["method", "status"],
        )
        self.github_rate_limit_remaining = r.gauge(
            f"{p}github_rate_limit_remaining",
            "Last seen x-ratelimit-remaining per installation.",
            ["installation"],
        )
        self.incidents_open = r.gauge(
            f"{p}incidents_open", "Open incidents by severity.", ["severity"]
        )
        self.sla_breaches = r.counter(
            f"{p}sla_breaches_total", "SLA milestones missed.", ["milestone"]
        )

    def set_queue_stats(self, stats: Mapping[str, float]) -> None:
        """Copy ``Store.queue_stats()`` (pending, oldest_age_seconds) into the queue gauges."""
        self.queue_depth.set(stats.get("pending", 0.0))
        self.queue_oldest_age_seconds.set(stats.get("oldest_age_seconds", 0.0))

    def set_incidents_open(self, by_severity: Mapping[str, int]) -> None:
        """Replace the open-incident snapshot, so a severity with none left drops out."""
        self.incidents_open.clear()
        for severity, count in by_severity.items():
            self.incidents_open.set(count, severity=severity)

    def render(self) -> str:
        return self.registry.render()


def _labels(names: tuple[str, ...], values: tuple[str, ...]) -> str:
    if not names:
        return ""
    pairs = ",".join(f'{n}="{_escape_label(v)}"' for n, v in zip(names, values, strict=True))
    return "{" + pairs + "}"


def _escape_label(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _escape_help(text: str) -> str:
    return text.replace("\\", "\\\\").replace("\n", "\\n")


def _number(value: float) -> str:
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if value == int(value) and abs(value) < 1e15:
        return str(int(value))
    return repr(float(value))
