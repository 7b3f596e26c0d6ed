"""The HTTP surface: routes only. Concrete collaborators come in as arguments.

The worker runs as a background task of the app's lifespan, so one process
both answers webhooks and processes them; ``run_worker=False`` serves only the
endpoints (tests, or a deployment that runs workers elsewhere).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable, Coroutine, Sequence
from typing import Any

from starlette.applications import Starlette
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Route

from watchkeeper.clock import Clock
from watchkeeper.ingress import Ingress
from watchkeeper.settings import Settings
from watchkeeper.store.base import Delivery, Store
from watchkeeper.worker import ContextFactory, Processor, Worker

log = logging.getLogger(__name__)

STUCK_AFTER_SECONDS = 600.0  # due work and no worker progress for this long: not ready
STOP_GRACE_SECONDS = 10.0


def build_app(
    settings: Settings,
    store: Store,
    processor: Processor,
    clock: Clock,
    *,
    run_worker: bool = True,
    worker_context: ContextFactory | None = None,
    extra_routes: Sequence[BaseRoute] = (),
    worker: Worker | None = None,
    close_store: bool = True,
    jobs: Sequence[Callable[[], Coroutine[Any, Any, None]]] = (),
    on_accepted: Callable[[str], None] | None = None,
    on_dead_letter: Callable[[Delivery, str], None] | None = None,
) -> Starlette:
    """The ASGI app. ``app.state`` carries store, worker, ingress and settings.

    ``on_accepted(event)`` runs for each delivery stored (202) and ``on_dead_letter`` for each
    one given up on: the metrics hooks.
    """
    if worker is None:
        worker = Worker(
            store,
            processor,
            clock,
            max_attempts=settings.worker_max_attempts,
            concurrency=settings.worker_concurrency,
            lease_seconds=settings.worker_lease_seconds,
            context_factory=worker_context,
            on_dead_letter=on_dead_letter,
        )
    ingress = Ingress(store, settings.webhook_secrets, clock, on_stored=worker.notify)
    worker.give_way_to(lambda: ingress.in_flight > 0)

    async def webhook(request: Request) -> Response:
        try:
            result = await ingress.handle(request.headers, request.stream())
        except ClientDisconnect:  # the sender gave up mid-body: nothing stored, no one to answer
            log.info("webhook sender disconnected before the body was complete")
            return PlainTextResponse("incomplete body", status_code=400)
        if result.status == 202 and on_accepted is not None and result.event:
            on_accepted(result.event)
        return PlainTextResponse(result.message, status_code=result.status)

    async def healthz(request: Request) -> Response:
        if await _ping(store):
            return PlainTextResponse("ok")
        return PlainTextResponse("store unreachable", status_code=503)

    async def readyz(request: Request) -> Response:
        report: dict[str, Any] = {"store": await _ping(store), "worker": "not run here"}
        ready = report["store"]
        if report["store"]:
            stats = await store.queue_stats(clock.now())
            report["queue"] = stats
            if run_worker:
                report["worker"] = "running" if worker.running else "stopped"
                ready = ready and worker.running and not _stuck(worker, stats, clock)
                if worker.running and _stuck(worker, stats, clock):
                    report["worker"] = "stuck"
        return JSONResponse({"ready": ready, **report}, status_code=200 if ready else 503)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        task = asyncio.create_task(worker.run(), name="watchkeeper-worker") if run_worker else None
        if task is not None:
            task.add_done_callback(_report_worker_exit)
        # Background jobs (e.g. the SLA scheduler) live as long as the app.
        job_tasks = [asyncio.create_task(job(), name=f"watchkeeper-job-{i}")
                     for i, job in enumerate(jobs)]
        try:
            yield
        finally:
            for job_task in job_tasks:
                job_task.cancel()
            for job_task in job_tasks:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await job_task
            if task is not None:
                await worker.stop()
                with contextlib.suppress(TimeoutError, asyncio.CancelledError, Exception):
                    await asyncio.wait_for(task, STOP_GRACE_SECONDS)
            if close_store:
                await store.close()

    routes: list[BaseRoute] = [
        Route(settings.webhook_path, webhook, methods=["POST"]),
        Route("/healthz", healthz, methods=["GET"]),
        Route("/readyz", readyz, methods=["GET"]),
        *extra_routes,
    ]
    app = Starlette(routes=routes, lifespan=lifespan)
    app.state.settings = settings
    app.state.store = store
    app.state.worker = worker
    app.state.ingress = ingress
    return app


async def _ping(store: Store) -> bool:
    try:
        return await store.ping()
    except Exception:
        log.exception("store ping failed")
        return False


def _stuck(worker: Worker, stats: dict[str, float], clock: Clock) -> bool:
    if stats.get("due", 0) <= 0 or worker.last_progress is None:
        return False
    idle = (clock.now() - worker.last_progress).total_seconds()
    return idle > STUCK_AFTER_SECONDS and stats.get("oldest_due_seconds", 0) > STUCK_AFTER_SECONDS


def _report_worker_exit(task: asyncio.Task[None]) -> None:
    if task.cancelled():
        return
    exc = task.exception()
    if exc is not None:
        log.error("the worker stopped with an error; deliveries are stored but not processed",
                  exc_info=exc)
