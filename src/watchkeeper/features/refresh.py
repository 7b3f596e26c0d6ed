"""Deferred issue refreshes: repeats coalesced by `incident.decide` (a burst of the same
failure updates the record only) are shown in one body update per incident once the window
has passed and the burst is over (no delivery waiting), or after `MAX_STALE` at the latest.
``serve`` runs the pass every few seconds under a store lease (one replica at a time); a pass
with nothing stale costs one store read and no GitHub call.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import TYPE_CHECKING

from watchkeeper.errors import PermanentError, RetryableError
from watchkeeper.incident import refresh_stale
from watchkeeper.logs import bind
from watchkeeper.scheduler import LeasedJob

if TYPE_CHECKING:
    from watchkeeper.wiring import Runtime

log = logging.getLogger("watchkeeper.refresh")

LEASE = "refresh-stale"
TICK_SECONDS = 5.0
MAX_STALE = timedelta(minutes=5)  # an issue lags its record at most this long in a storm


async def refresh_pass(runtime: Runtime) -> list[str]:
    """Refresh every incident whose coalesced sections are due; returns their IDs."""
    refreshed: list[str]
    pipeline, refreshed = runtime.pipeline, []
    stale = [i for i in await runtime.store.list_incidents(open_only=True)
             if i.stale_sections and i.issue_number is not None
             and i.installation_id is not None]
    if not stale:
        return refreshed
    now = runtime.clock.now()
    # While deliveries are waiting the burst is still coming in: showing it now would only
    # spend writes (paced per installation) the openings need. Unless it has waited long.
    busy = (await runtime.store.queue_stats(now)).get("due", 0) > 0
    async with runtime.gateway.session():
        for incident in stale:
            if busy and now - (incident.sections_refreshed_at or incident.recorded_at) < \
                    MAX_STALE:
                continue
            with bind(incident_id=incident.id):
                try:
                    config = await pipeline.config_for(incident.installation_id, incident.repo)
                    decision = refresh_stale(incident, config, runtime.clock.now())
                    if decision.actions:
                        # As a retry: the section update reads the body before it writes.
                        await pipeline.apply(incident, decision, first_attempt=False)
                        refreshed.append(incident.id)
                except PermanentError as exc:  # uninstalled, issue gone: asking again won't help
                    log.warning("giving up refreshing the issue of %s: %s", incident.id, exc)
                    await runtime.store.save_incident(incident.replace(
                        stale_sections=(), version=incident.version + 1))
                except RetryableError as exc:
                    if exc.retry_after == 0:  # repeats came in meanwhile: shown next time
                        await _refreshed_anyway(runtime, incident.id)
                    log.info("refreshing %s deferred: %s", incident.id, exc)
                except Exception as exc:  # GitHub down: the next pass retries
                    log.info("refreshing %s deferred: %s", incident.id, exc)
    return refreshed


async def _refreshed_anyway(runtime: Runtime, incident_id: str) -> None:
    """The issue was updated but the record moved on (a repeat arrived): note the update so
    the window starts again; the sections stay marked for the newer repeats."""
    fresh = await runtime.store.get_incident(incident_id)
    if fresh is not None:
        await runtime.store.save_incident(fresh.replace(
            sections_refreshed_at=runtime.clock.now(), version=fresh.version + 1))


def install(runtime: Runtime) -> None:
    job = LeasedJob(runtime.store, runtime.clock, lambda: refresh_pass(runtime), name=LEASE,
                    interval=TICK_SECONDS)
    runtime.jobs.append(job.run)
