"""The SLA clock end to end: the real sweep, store and client against the fake GitHub,
with the clock driven explicitly (no sleeping)."""

from __future__ import annotations

import asyncio
import io
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from tests.support import REPO, Harness, failing_secret_scan, harness

from watchkeeper.features.slaclock import SWEEP_LEASE, sweep
from watchkeeper.record import Incident
from watchkeeper.scheduler import LeasedJob
from watchkeeper.subcommands.sweep import sweep_once

CONFIG_YML = """\
roles:
  incident_commander: {backup: eng-lead}
  mitigation_owner: {backup: senior-eng}
review:
  repository: octo-org/octo-repo
"""
DETECTED = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)  # the failing run's time, a Friday


def at(minutes: float) -> datetime:
    return DETECTED + timedelta(minutes=minutes)


async def open_incident(h: Harness, config: str = CONFIG_YML) -> int:
    h.fake.world.now = h.clock.now  # the fake's timestamps follow the test's clock
    h.fake.set_file(REPO, ".github/watchkeeper.yml", config)
    await h.deliver("workflow_run", failing_secret_scan())
    assert await h.drain() == 1
    [issue] = [i for i in h.fake.issues(REPO) if "incident" in i.labels]
    return issue.number


def sla_comments(h: Harness, number: int) -> list[str]:
    return [c.body for c in h.fake.issue(REPO, number).comments if "SLA " in c.body]


async def stored(h: Harness, number: int) -> Incident:
    incident = await h.runtime.store.incident_for_issue(REPO, number)
    assert incident is not None
    return incident


async def change(h: Harness, number: int, **changes: Any) -> None:
    """Change the record as another feature would (responders: severity, milestones)."""
    incident = await stored(h, number)
    assert await h.runtime.store.save_incident(
        incident.replace(version=incident.version + 1, **changes))


async def sweep_at(h: Harness, when: datetime, **kwargs: Any) -> Any:
    h.clock.set(when)
    return await sweep(h.runtime, **kwargs)


async def test_reminder_and_breach_once_each_even_after_a_restart(tmp_path: Path) -> None:
    async with harness(tmp_path) as h:
        number = await open_incident(h)
        assert (await sweep_at(h, at(11))).effects == []
        report = await sweep_at(h, at(11.25))  # 75% of the 15-minute acknowledge target
        assert report.effects == ["INC-2026-0001 reminder acknowledge"]
        [reminder] = sla_comments(h, number)
        assert reminder.startswith("**SLA reminder: Acknowledge** is due at "
                                   "**2026-11-27 09:15 UTC**, 3m from now")
        assert "@eng-lead (Incident Commander)" in reminder
        assert "<!-- watchkeeper:comment sla:reminder:acknowledge:" in reminder
        # Nothing due: the stored clock answers without a config read or a GitHub call.
        calls = len(h.fake.requests)
        report = await sweep_at(h, at(12))
        assert (report.looked_at, report.skipped) == (0, 1)
        assert len(h.fake.requests) == calls

        # A restart: a new runtime on the same database.
        async with harness(tmp_path, fake=h.fake, now=at(13)) as again:
            assert (await sweep(again.runtime)).effects == []
            report = await sweep_at(again, at(15))
            assert report.effects == ["INC-2026-0001 breach acknowledge"]
            assert 'sla_breaches_total{milestone="acknowledge"} 1' in \
                again.runtime.metrics.render()
        assert len(sla_comments(h, number)) == 2
        breach = sla_comments(h, number)[1]
        assert breach.startswith("**SLA breached: Acknowledge**. The deadline "
                                 "**2026-11-27 09:15 UTC** passed 0m ago")
        assert "**Escalation**: @eng-lead (Engineering lead, backup for the Incident " \
               "Commander), please step in." in breach
        assert "sla:breached" in h.fake.issue(REPO, number).labels
        assert "| Acknowledge | 15 minutes | 2026-11-27 09:15 UTC | **overdue** (by 0m) |" in \
            (h.fake.issue(REPO, number).body or "")
        # The first runtime again, later: the record says both are done.
        assert (await sweep_at(h, at(16))).effects == []
        assert len(sla_comments(h, number)) == 2
        kinds = [e.kind for e in (await stored(h, number)).timeline]
        assert kinds.count("reminder") == 1 and kinds.count("breach") == 1
        assert h.fake.calls("GET", r"/search/.*") == []


async def test_a_lost_save_does_not_post_twice(tmp_path: Path) -> None:
    async with harness(tmp_path) as h:
        number = await open_incident(h)
        before = await stored(h, number)
        await sweep_at(h, at(15))
        assert len(sla_comments(h, number)) == 1
        # As if the sweep crashed after posting but before saving: the old record is back.
        after = await stored(h, number)
        assert await h.runtime.store.save_incident(before.replace(version=after.version + 1))
        await sweep_at(h, at(16))
        assert len(sla_comments(h, number)) == 1  # found by its key, not posted again
        assert (await stored(h, number)).done(
            "sla:breach:acknowledge:2026-11-27T09:15:00+00:00")


async def test_two_sweepers_at_once_sweep_once(tmp_path: Path) -> None:
    async with harness(tmp_path) as h:
        number = await open_incident(h)
        async with harness(tmp_path, fake=h.fake) as other:
            h.clock.set(at(15))
            other.clock.set(at(15))
            outputs = [io.StringIO(), io.StringIO()]
            codes = await asyncio.gather(sweep_once(h.runtime, out=outputs[0]),
                                         sweep_once(other.runtime, out=outputs[1]))
            assert codes == [0, 0]
            texts = sorted(o.getvalue() for o in outputs)
            assert texts[0].startswith("another sweep holds the lease")
            assert texts[1].startswith("looked at 1 incident(s), 0 with nothing due\n"
                                       "  INC-2026-0001 breach acknowledge")
            assert len(sla_comments(h, number)) == 1
            # The lease was given back: the next cron run may sweep.
            assert await h.runtime.store.try_lease(SWEEP_LEASE, "cron-2", at(15), 60)


async def test_leased_jobs_run_one_at_a_time(tmp_path: Path) -> None:
    async with harness(tmp_path) as h:
        runs: list[str] = []

        def job(name: str) -> Any:
            async def run() -> None:
                runs.append(name)
            return run

        a = LeasedJob(h.runtime.store, h.clock, job("a"), name="t", interval=60, holder="a")
        b = LeasedJob(h.runtime.store, h.clock, job("b"), name="t", interval=60, holder="b")
        assert a.ttl == 180
        assert await asyncio.gather(a.tick(), b.tick()) == [True, False]
        h.clock.advance(60)
        assert (await a.tick(), await b.tick()) == (True, False)  # the holder renews
        h.clock.advance(181)  # a died: its lease runs out and b takes over
        assert (await b.tick(), await a.tick()) == (True, False)
        assert runs == ["a", "a", "b"]

        # The serve loop: ticks, sleeps (here: counted, not waited), releases on stop.
        sleeps: list[float] = []

        async def fake_sleep(seconds: float) -> None:
            sleeps.append(seconds)
            if len(sleeps) == 2:
                raise asyncio.CancelledError

        c = LeasedJob(h.runtime.store, h.clock, job("c"), name="u", interval=5, holder="c",
                      sleep=fake_sleep)
        task = asyncio.ensure_future(c.run())
        await asyncio.wait([task])
        assert task.cancelled() and sleeps == [5, 5] and runs[-2:] == ["c", "c"]
        assert await h.runtime.store.try_lease("u", "d", h.clock.now(), 5)  # released
        # `serve` runs the sweep as such a job (beside the reconcile pass).
        assert [j.__self__.name for j in h.runtime.jobs  # type: ignore[attr-defined]
                if "LeasedJob" in j.__qualname__] == ["sla-sweep", "reconcile",
                                                      "refresh-stale"]


async def test_severity_change_reschedules_and_a_milestone_cancels(tmp_path: Path) -> None:
    async with harness(tmp_path) as h:
        number = await open_incident(h)
        await change(h, number, severity="high")  # acknowledge within 1 hour now
        assert (await sweep_at(h, at(12))).effects == []  # the critical reminder is gone
        report = await sweep_at(h, at(45))
        assert report.effects == ["INC-2026-0001 reminder acknowledge"]
        assert "**2026-11-27 10:00 UTC**" in sla_comments(h, number)[0]
        await change(h, number, milestones=(("acknowledged", at(50)),))
        assert (await sweep_at(h, at(61))).effects == []  # met before 10:00: no breach
        assert len(sla_comments(h, number)) == 1
        clock = (await stored(h, number)).sla_clock
        assert clock.next_check == at(121)  # the hourly refresh; contain is due in 24 h


async def test_removing_the_breach_label_is_respected(tmp_path: Path) -> None:
    async with harness(tmp_path) as h:
        number = await open_incident(h)
        before_breach = await stored(h, number)
        await sweep_at(h, at(15))
        assert "sla:breached" in h.fake.issue(REPO, number).labels
        events: list[tuple[str, dict[str, Any]]] = []
        h.fake.on_event = lambda event, payload: events.append((event, payload))
        h.fake.person_remove_label(REPO, number, "sla:breached", login="alice")
        h.fake.on_event = None
        [(event, payload)] = events
        await h.deliver(event, payload)
        await h.drain()
        override = (await stored(h, number)).timeline[-1]
        assert (override.kind, override.actor) == ("sla_override", "alice")
        assert "sla:breached" in override.text
        assert "| 2026-11-27 09:15 | alice | Removed the sla:breached label: SLA breach " \
               "overridden |" in (h.fake.issue(REPO, number).body or "")

        # Even if the breach had never been recorded (a lost save), it is not added again.
        labels_posted = len(h.fake.calls("POST", rf"/repos/{REPO}/issues/{number}/labels"))
        current = await stored(h, number)
        assert await h.runtime.store.save_incident(current.replace(
            version=current.version + 1, done_keys=tuple(
                k for k in current.done_keys if not k.startswith("sla:breach:")),
            sla_clock=before_breach.sla_clock))
        await sweep_at(h, at(20))
        assert len(h.fake.calls("POST", rf"/repos/{REPO}/issues/{number}/labels")) == \
            labels_posted
        assert "sla:breached" not in h.fake.issue(REPO, number).labels
        assert len(sla_comments(h, number)) == 1
        # A later deadline (containment, 4 hours) is another breach: the label returns.
        await sweep_at(h, at(240))
        assert "sla:breached" in h.fake.issue(REPO, number).labels


async def test_next_release_comes_from_the_repositorys_milestones(tmp_path: Path) -> None:
    low = CONFIG_YML + "rules:\n  secret_scan: {severity: low}\n"
    async with harness(tmp_path) as h:
        number = await open_incident(h, low)
        body = h.fake.issue(REPO, number).body
        assert "| Permanent fix | next release | none (no open milestone with a due date) |" \
            in body
        h.fake.add_milestone(REPO, "v2.0", due_on="2026-12-15T08:00:00Z")
        h.fake.add_milestone(REPO, "v1.9", due_on="2026-11-01T08:00:00Z")  # overdue already
        h.fake.add_milestone(REPO, "v1.5", state="closed", due_on="2026-12-01T08:00:00Z")
        await sweep_at(h, at(5))
        assert len(h.fake.calls("GET", rf"/repos/{REPO}/milestones")) == 1
        body = h.fake.issue(REPO, number).body
        assert "| Permanent fix | next release | 2026-12-15 08:00 UTC (milestone v2.0) |" in body
        assert dict((await stored(h, number)).sla_clock.deadlines)["fix"] == datetime(
            2026, 12, 15, 8, 0, tzinfo=UTC)


async def test_the_weekly_review_is_one_issue_updated_in_place(tmp_path: Path) -> None:
    async with harness(tmp_path) as h:
        number = await open_incident(h)
        h.fake.person_open_issue(REPO, "Add a tenant isolation test",
                                 "From the postmortem.\n\nDue: 2026-11-20\n",
                                 labels=["preventive-action"])
        action = max(i.number for i in h.fake.issues(REPO))
        h.fake.person_assign(REPO, action, ["alice"])
        monday = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)

        # Forced early (`watchkeeper sweep --review`): written, but the scheduled run still
        # comes and updates it.
        early = await sweep_at(h, monday - timedelta(minutes=30), force_review=True)
        assert early.reviews == [f"{REPO} 2026-W49"]
        [review] = [i for i in h.fake.issues(REPO) if "security-review" in i.labels]
        assert (await sweep_at(h, monday - timedelta(minutes=1))).reviews == []
        assert (await sweep_at(h, monday + timedelta(minutes=5))).reviews == []  # gated
        report = await sweep_at(h, monday + timedelta(minutes=15))
        assert report.reviews == [f"{REPO} 2026-W49"]
        assert [i.number for i in h.fake.issues(REPO) if "security-review" in i.labels] == [
            review.number]
        assert len(h.fake.calls("PATCH", rf"/repos/{REPO}/issues/{review.number}")) == 1
        assert review.title == "Weekly security review 2026-W49"
        assert review.body is not None
        assert review.body.startswith("<!-- watchkeeper:review 2026-W49 -->")
        assert f"| {REPO}#{number} INC-2026-0001: " in review.body
        assert "**breached**: Acknowledge" in review.body
        assert "### Preventive actions (1 open, 1 overdue)" in review.body
        assert "| @alice | 2026-11-20 | **overdue** (10d) |" in review.body

        # Written once this week: later sweeps leave it alone.
        writes = len(h.fake.calls("POST", rf"/repos/{REPO}/issues")) + len(
            h.fake.calls("PATCH", rf"/repos/{REPO}/issues/{review.number}"))
        assert (await sweep_at(h, monday + timedelta(minutes=31))).reviews == []
        assert len(h.fake.calls("POST", rf"/repos/{REPO}/issues")) + len(
            h.fake.calls("PATCH", rf"/repos/{REPO}/issues/{review.number}")) == writes

        # Forced (`watchkeeper sweep --review`): the same issue, updated in place.
        report = await sweep_at(h, monday + timedelta(minutes=40), force_review=True)
        assert report.reviews == [f"{REPO} 2026-W49"]
        assert [i.number for i in h.fake.issues(REPO) if "security-review" in i.labels] == [
            review.number]
        assert "Updated 2026-11-30 09:40 UTC" in (h.fake.issue(REPO, review.number).body or "")

    # The database lost: the issue is found again by its marker (listed by label).
    (tmp_path / "fresh").mkdir()
    async with harness(tmp_path / "fresh", fake=h.fake) as fresh:
        await fresh.deliver("workflow_run", failing_secret_scan())
        await fresh.drain()
        report = await sweep_at(fresh, monday + timedelta(hours=2))
        assert report.reviews == [f"{REPO} 2026-W49"]
        assert [i.number for i in h.fake.issues(REPO) if "security-review" in i.labels] == [
            review.number]
    assert h.fake.calls("GET", r"/search/.*") == []
