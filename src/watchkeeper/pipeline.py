"""From a stored delivery to GitHub: route -> config -> classify -> decide -> execute -> save.

The only place where the pure decisions meet the store and GitHub. Ordering is what
keeps it exactly-once in effect under retries and crashes:

1. a new incident's record is inserted first (the store lets only one open incident
   hold a fingerprint, so concurrent deliveries cannot open two issues);
2. actions are executed (the executor is idempotent: a retried "open issue" finds the
   issue it created through a hidden marker, a retried comment finds its key); opening
   the issue happens under a store lease, so that replicas never open it twice;
3. the record is saved with optimistic versioning; a conflict retries the delivery,
   which re-decides from the fresh record.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import json
import logging
import uuid
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from watchkeeper.actions import OpenIssue
from watchkeeper.clock import Clock
from watchkeeper.config_source import ConfigSource
from watchkeeper.errors import PermanentError, RetryableError
from watchkeeper.evidence.alerts import follow_closed, link_previous
from watchkeeper.github.executor import Executor
from watchkeeper.github.gateway import Gateway
from watchkeeper.incident import Decision, decide, opening_actions
from watchkeeper.logs import bind
from watchkeeper.record import Incident
from watchkeeper.routing import Router
from watchkeeper.runbook.model import Config, Match
from watchkeeper.runbook.policy import classify, related_fingerprints
from watchkeeper.signals.model import Signal
from watchkeeper.signals.origin import is_own_event
from watchkeeper.signals.payload import MalformedPayload
from watchkeeper.store.base import Delivery, Store

log = logging.getLogger("watchkeeper.pipeline")

# Longer than opening an issue takes, shorter than a delivery's lease (300 s): an opener
# that died lets a later attempt open the issue before other deliveries run out of tries.
OPENING_LEASE_SECONDS = 120.0
# A delivery that lost an optimistic save is decided again at once, this many times, before
# the worker's backoff takes over.
CONFLICT_RERUNS = 2
_delivery: contextvars.ContextVar[str | None] = contextvars.ContextVar("delivery", default=None)

# A feature's I/O shell for one webhook event: it parses the payload (purely), gathers
# what its pure decision needs, and hands the Decision to `Pipeline.apply`.
EventHandler = Callable[["Pipeline", Delivery, dict[str, Any]], Awaitable[None]]


@dataclass
class Pipeline:
    store: Store
    executor: Executor
    router: Router
    clock: Clock
    configs: ConfigSource
    app_slug: str | None = None
    # Looks up the app's slug (GET /app) when settings did not give it: own events are
    # recognised by the sender "<slug>[bot]".
    slug_lookup: Callable[[], Awaitable[str]] | None = None
    # Features register handlers per X-GitHub-Event (see `on`); run in registration order.
    handlers: dict[str, list[EventHandler]] = field(default_factory=dict)
    # The gateway, for features whose decisions need facts from GitHub first.
    gateway: Gateway | None = None
    # Per-repository locks (see `_serially`); entries vanish once no delivery holds them.
    _locks: weakref.WeakValueDictionary[str, asyncio.Lock] = field(
        default_factory=weakref.WeakValueDictionary, repr=False)

    def on(self, event: str, handler: EventHandler) -> None:
        """Register a feature's handler for an event (after the security signal router)."""
        self.handlers.setdefault(event, []).append(handler)

    async def _own_slug(self) -> str | None:
        if self.app_slug is None and self.slug_lookup is not None:
            self.app_slug = await self.slug_lookup()
        return self.app_slug

    async def process(self, delivery: Delivery) -> None:
        _delivery.set(f"delivery:{delivery.delivery_id}")
        try:
            payload = json.loads(delivery.body)
        except ValueError as exc:  # ingress checked it; a corrupted row is not retryable
            raise PermanentError(f"stored body is not JSON: {exc}") from exc
        if not isinstance(payload, dict) or is_own_event(payload, await self._own_slug()):
            return
        async with self._serially(_repository_key(payload)):
            for rerun in range(CONFLICT_RERUNS + 1):
                try:
                    await self._process(delivery, payload, rerun=rerun > 0)
                    return
                except RetryableError as exc:
                    # retry_after=0: a record changed under us (another replica, a job).
                    # Deciding again from the fresh record now beats the worker's backoff.
                    if exc.retry_after != 0 or rerun == CONFLICT_RERUNS:
                        raise
                    log.debug("re-running delivery %s: %s", delivery.delivery_id, exc)

    @contextlib.asynccontextmanager
    async def _serially(self, key: str | None) -> AsyncIterator[None]:
        """Deliveries about one repository, one at a time in this process: they mostly touch
        the same incident, and in parallel all but one would lose the optimistic save and wait
        out a retry. Other repositories go on in parallel; replicas still rely on the store."""
        if key is None:
            yield
            return
        lock = self._locks.get(key)
        if lock is None:
            lock = self._locks[key] = asyncio.Lock()
        async with lock:
            yield

    async def _process(self, delivery: Delivery, payload: dict[str, Any], *,
                       rerun: bool = False) -> None:
        # The store counts claims: 1 means no earlier attempt can have left anything behind
        # (a re-run may have: its first run got part of the way).
        first_attempt = delivery.attempts <= 1 and not rerun
        try:
            signals = self.router.route(delivery.event, payload, received_at=delivery.received_at)
        except MalformedPayload as exc:
            raise PermanentError(f"malformed {delivery.event} payload: {exc}") from exc
        for signal in signals:
            with bind(event_key=signal.event_key, repo=signal.repo.full_name,
                      installation_id=signal.installation_id):
                await self.handle(signal, first_attempt=first_attempt)
        for handler in self.handlers.get(delivery.event, ()):
            try:
                await handler(self, delivery, payload)
            except (KeyError, TypeError, AttributeError, ValueError, IndexError) as exc:
                # A payload without what the handler reads (the signal parsers map these
                # the same way): another attempt fails alike, so dead-letter it at once.
                name = getattr(handler, "__qualname__", type(handler).__name__)
                log.warning("%s could not read the %s payload", name, delivery.event,
                            exc_info=True)
                raise PermanentError(f"malformed {delivery.event} payload: {name}: "
                                     f"{type(exc).__name__}: {str(exc)[:200]}") from exc

    async def handle(self, signal: Signal, *, first_attempt: bool) -> None:
        if signal.kind != "detection" and not await self._repo_has_open_incident(signal):
            return  # most runs pass: answer those without a single GitHub call
        now = self.clock.now()
        config = await self.configs.get(signal.installation_id, signal.repo.full_name)
        match = classify(signal, config) if signal.kind == "detection" else None
        incident = await self._find_incident(signal, match, config)
        if incident is None and match is None:
            return
        previous = None
        if incident is None and match is not None:
            # A closed incident for the fingerprint: a replay, a reopening alert, or the
            # one a new incident links (evidence/alerts.py).
            previous = await self.store.latest_incident_for(match.fingerprint)
            followed = follow_closed(previous, signal, config, now) if previous else None
            if followed is not None:
                await self.apply(previous, followed, first_attempt=first_attempt)
                return
        new_id = await self.new_incident_id(now) if incident is None else ""
        decision = decide(incident, signal, match, config, now, new_id)
        if previous is not None:
            decision = link_previous(decision, previous, config, now)
        if incident is not None and incident.issue_number is None and decision.incident:
            # An earlier attempt stored the record but never learnt its issue number.
            decision = Decision(decision.incident, (
                *opening_actions(decision.incident, config, now), *decision.actions))
            first_attempt = False
        await self.apply(incident, decision, first_attempt=first_attempt)

    async def _find_incident(
        self, signal: Signal, match: Match | None, config: Config
    ) -> Incident | None:
        if match is not None:
            return await self.store.open_incident_for(match.fingerprint)
        for fp in related_fingerprints(signal, config):
            incident = await self.store.open_incident_for(fp)
            if incident is not None:
                return incident
        return None

    async def _repo_has_open_incident(self, signal: Signal) -> bool:
        repo = signal.repo.full_name.lower()
        return any(i.repo.lower() == repo for i in await self.store.list_incidents(open_only=True))

    async def config_for(self, installation_id: int | None, repo: str) -> Config:
        return await self.configs.get(installation_id, repo)

    async def new_incident_id(self, now: datetime) -> str:
        number = await self.store.next_incident_number()
        return f"INC-{now.year}-{number:04d}"

    async def apply(
        self, before: Incident | None, decision: Decision, *, first_attempt: bool
    ) -> None:
        """Store and perform a decision (see the module docstring for the ordering)."""
        after = decision.incident
        if after is None or (after == before and not decision.actions):
            return
        if before is None:
            record = after.replace(version=1)
            if not await self.store.insert_incident(record):
                # Another worker opened this fingerprint first: redo against its record.
                raise RetryableError("incident opened concurrently", retry_after=0)
            # The ID is fresh from the store's counter: nothing on GitHub can carry it yet.
            first_attempt = True
        else:
            record = after.replace(version=before.version + 1)
        with bind(incident_id=record.id):
            async with self._opening(record, before, decision):
                done = await self.executor.execute(record, decision.actions,
                                                   first_attempt=first_attempt)
                if before is None:
                    done = done.replace(version=2)
                if not await self.store.save_incident(done):
                    raise RetryableError("incident changed concurrently", retry_after=0)

    @contextlib.asynccontextmanager
    async def _opening(self, record: Incident, before: Incident | None,
                       decision: Decision) -> AsyncIterator[None]:
        """One worker at a time opens an incident's issue. While its opener talks to GitHub
        the record exists without an issue number; another worker (or replica) seeing it
        must wait rather than take it for an abandoned attempt and open a second issue."""
        if not any(isinstance(action, OpenIssue) for action in decision.actions):
            yield
            return
        # The delivery's retry after a crash holds it again at once; others wait it out.
        name, holder = f"open-issue:{record.id}", _delivery.get() or uuid.uuid4().hex
        if not await self.store.try_lease(name, holder, self.clock.now(), OPENING_LEASE_SECONDS):
            raise RetryableError("the incident's issue is being opened elsewhere", retry_after=1)
        try:
            if before is not None and await self.store.get_incident(record.id) != before:
                raise RetryableError("incident changed concurrently", retry_after=0)
            yield
        finally:
            try:
                await self.store.release_lease(name, holder)
            except Exception:  # it expires by itself
                log.warning("could not release the lease %s", name, exc_info=True)


def _repository_key(payload: dict[str, Any]) -> str | None:
    """The repository a payload is about (lower-cased "owner/name"), if it names one."""
    repository = payload.get("repository")
    name = repository.get("full_name") if isinstance(repository, dict) else None
    return name.lower() if isinstance(name, str) and name else None
