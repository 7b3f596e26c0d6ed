"""Concrete objects wired together: the one place that knows every collaborator.

`create_app(settings)` is what `watchkeeper serve` runs; the demo and the tests build
the same runtime with a fake GitHub transport and a frozen clock.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from watchkeeper.clock import Clock, SystemClock
from watchkeeper.config_source import ConfigSource, GitHubConfigSource
from watchkeeper.features import install_all
from watchkeeper.github.client import GitHubGateway
from watchkeeper.github.executor import Executor
from watchkeeper.metrics import CONTENT_TYPE, Metrics
from watchkeeper.pipeline import Pipeline
from watchkeeper.routing import default_router
from watchkeeper.server import build_app
from watchkeeper.settings import Settings
from watchkeeper.store import open_store
from watchkeeper.store.base import Delivery, Store


@dataclass
class Runtime:
    """Everything a running Watchkeeper holds, for commands that need more than the app."""

    settings: Settings
    store: Store
    gateway: GitHubGateway
    pipeline: Pipeline
    metrics: Metrics
    clock: Clock
    # Filled by features (watchkeeper/features): extra HTTP routes and background jobs
    # (coroutines run beside the worker for the app's lifetime, e.g. the SLA scheduler).
    routes: list[BaseRoute] = field(default_factory=list)
    jobs: list[Callable[[], Coroutine[Any, Any, None]]] = field(default_factory=list)


def build_runtime(
    settings: Settings,
    *,
    store: Store | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
    clock: Clock | None = None,
    configs: ConfigSource | None = None,
) -> Runtime:
    clock = clock or SystemClock()
    metrics = Metrics()
    store = store or open_store(settings.database_url)
    gateway = GitHubGateway(
        settings.app_id,
        settings.private_key,
        settings.github_api_url,
        transport=transport,
        mutation_interval=settings.mutation_interval,
        on_call=lambda method, status: metrics.github_api_calls.inc(
            method=method, status=str(status)
        ),
    )
    pipeline = Pipeline(
        store=store,
        executor=Executor(gateway),
        router=default_router(),
        clock=clock,
        configs=configs or GitHubConfigSource(gateway),
        app_slug=settings.app_slug,
        slug_lookup=gateway.get_app_slug,
        gateway=gateway,
    )
    runtime = Runtime(settings, store, gateway, pipeline, metrics, clock)
    install_all(runtime)
    return runtime


def create_app(
    settings: Settings,
    *,
    runtime: Runtime | None = None,
    run_worker: bool = True,
) -> Starlette:
    runtime = runtime or build_runtime(settings)
    metrics = runtime.metrics

    async def process(delivery: Delivery) -> None:
        started = time.perf_counter()
        try:
            await runtime.pipeline.process(delivery)
        except Exception:
            metrics.deliveries_failed.inc()
            raise
        finally:
            metrics.processing_seconds.observe(time.perf_counter() - started)
        metrics.deliveries_processed.inc(event=delivery.event)

    async def metrics_endpoint(request: Request) -> Response:
        metrics.set_queue_stats(await runtime.store.queue_stats(runtime.clock.now()))
        open_incidents = await runtime.store.list_incidents(open_only=True)
        metrics.set_incidents_open(Counter(i.severity for i in open_incidents))
        for installation, remaining in runtime.gateway.rate_limits().items():
            metrics.github_rate_limit_remaining.set(remaining, installation=str(installation))
        return Response(metrics.render(), media_type=CONTENT_TYPE)

    app = build_app(
        settings,
        runtime.store,
        process,
        runtime.clock,
        run_worker=run_worker,
        worker_context=runtime.gateway.session,
        extra_routes=[Route("/metrics", metrics_endpoint, methods=["GET"]), *runtime.routes],
        jobs=runtime.jobs if run_worker else (),
        on_accepted=lambda event: metrics.deliveries_received.inc(event=event),
        on_dead_letter=lambda delivery, error: metrics.deliveries_dead_lettered.inc(),
    )
    app.state.runtime = runtime
    return app
