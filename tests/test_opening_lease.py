"""While one worker opens an incident's issue, another worker that finds the record
(stored, no issue number yet) waits instead of opening a second issue."""

from __future__ import annotations

import asyncio
import dataclasses
import weakref
from pathlib import Path

import pytest
from tests.support import REPO, failing_secret_scan, harness

from watchkeeper.errors import RetryableError

ISSUES = rf"/repos/{REPO}/issues"


async def test_a_second_worker_waits_for_the_issue_being_opened(tmp_path: Path) -> None:
    async with harness(tmp_path) as h:
        h.fake.latency = 0.05  # every GitHub call takes a while: the opener is slow
        await h.deliver("workflow_run", failing_secret_scan(), delivery_id="d-1")
        repeat = failing_secret_scan(run_id=289782999, updated_at="2026-11-27T09:01:00Z")
        await h.deliver("workflow_run", repeat, delivery_id="d-2")
        store, pipeline = h.runtime.store, h.runtime.pipeline
        first = await store.claim("w1", h.clock.now(), 60)
        second = await store.claim("w2", h.clock.now(), 60)
        assert first is not None and second is not None
        async with h.runtime.gateway.session():
            opener = asyncio.create_task(pipeline.process(first))
            while not (found := await store.list_incidents()):  # the record is stored ...
                await asyncio.sleep(0.005)
            assert found[0].issue_number is None  # ... and its issue is being opened
            # Another replica (in one process, deliveries for one repository queue up).
            replica = dataclasses.replace(pipeline, _locks=weakref.WeakValueDictionary())
            with pytest.raises(RetryableError, match="being opened elsewhere"):
                await replica.process(second)
            await opener
            assert len(h.fake.calls("POST", ISSUES)) == 1
            await pipeline.process(dataclasses.replace(second, attempts=2))  # its retry
        assert len(h.fake.calls("POST", ISSUES)) == 1
        incident = (await store.list_incidents())[0]
        assert incident.issue_number == h.fake.issues(REPO)[0].number
        assert incident.occurrences.count == 2
