"""The stage: the real server (``wiring.create_app`` under uvicorn, SQLite in a temporary
directory, a generated app key and webhook secret) wired to the simulated GitHub, whose
webhooks come back over HTTP through the Outbox. Credentials and network: none."""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx

from watchkeeper.demo.clock import StoryClock
from watchkeeper.demo.delivery import Outbox
from watchkeeper.demo.serving import serving
from watchkeeper.demo.world import APP_ID, APP_SLUG, build_world
from watchkeeper.github.fake import FakeGitHub
from watchkeeper.github.fake.keys import demo_private_key
from watchkeeper.settings import Settings
from watchkeeper.wiring import Runtime, build_runtime, create_app

SETTLE_TIMEOUT = 30.0  # seconds; a step that takes longer has gone wrong
POLL = 0.01


class NotSettled(RuntimeError):
    """The app still had work after SETTLE_TIMEOUT seconds."""


@dataclass
class Stage:
    fake: FakeGitHub
    clock: StoryClock
    runtime: Runtime
    outbox: Outbox
    server_url: str
    webhook_path: str
    database: Path

    async def settle(self, timeout: float = SETTLE_TIMEOUT) -> None:
        """Wait until GitHub has delivered everything and the server has processed it.

        Sound without sleeps: a webhook is counted by the Outbox from the moment the
        simulated GitHub announces it until the server answered 202 (stored, pending),
        and the store counts it pending until processed; whatever processing makes
        GitHub announce is announced before the delivery is marked done.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            if self.outbox.pending == 0:
                stats = await self.runtime.store.queue_stats(self.clock.now())
                if stats["pending"] == 0 and self.outbox.pending == 0:
                    return
            if loop.time() > deadline:
                raise NotSettled(f"still busy after {timeout:.0f}s")
            await asyncio.sleep(POLL)

    async def dead_letters(self) -> int:
        stats = await self.runtime.store.queue_stats(self.clock.now())
        return int(stats["dead"])

    def send(self, event: str, payload: dict[str, Any]) -> None:
        """GitHub announces an event (a run finished, a deployment reported)."""
        self.fake.world.emit(event, payload)


def demo_settings(fake: FakeGitHub, database: Path, secret: str) -> Settings:
    return Settings.from_env({
        "APP_ID": str(fake.app_id),
        "PRIVATE_KEY": fake.private_key,
        "WEBHOOK_SECRET": secret,
        "GITHUB_API_URL": fake.api_url,
        "DATABASE_URL": f"sqlite:///{database}",
        "APP_SLUG": APP_SLUG,
        "HOST": "127.0.0.1",
        # One at a time, in delivery order, so the story reads the same on every run.
        "WORKER_CONCURRENCY": "1",
        # Nobody else writes to the simulated GitHub: no pacing needed.
        "MUTATION_INTERVAL": "0",
        # The SLA clock runs on demand only: story time jumps would make it fire at
        # arbitrary points of the narration.
        "SWEEP_INTERVAL": "0",
        # Likewise the reconcile pass (it asks GitHub about runs and alerts on its own).
        "RECONCILE_INTERVAL": "0",
    })


@contextlib.asynccontextmanager
async def stage(start: datetime, *, workdir: Path | None = None) -> AsyncIterator[Stage]:
    """Everything running; torn down (servers stopped, store closed) when the block ends."""
    with contextlib.ExitStack() as stack:
        if workdir is None:
            workdir = Path(stack.enter_context(
                tempfile.TemporaryDirectory(prefix="watchkeeper-demo-")))
        database = workdir / "watchkeeper.db"
        clock = StoryClock(start)
        fake = FakeGitHub(app_id=APP_ID, app_slug=APP_SLUG, private_key=demo_private_key(),
                          clock=clock.now)
        build_world(fake)
        secret = secrets.token_hex(20)
        settings = demo_settings(fake, database, secret)
        runtime = build_runtime(settings, transport=fake, clock=clock)
        app = create_app(settings, runtime=runtime)
        async with serving(app) as url, httpx.AsyncClient(base_url=url, timeout=30) as client:
            outbox = Outbox(client, settings.webhook_path, secret, fake.app_id)
            fake.on_event = outbox.enqueue
            sender = asyncio.create_task(outbox.run(), name="demo-webhooks")
            try:
                yield Stage(fake, clock, runtime, outbox, url, settings.webhook_path, database)
            finally:
                fake.on_event = None
                sender.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await sender
