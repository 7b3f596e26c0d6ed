"""What changed during a story step, read from the simulated GitHub (issues, labels,
comments, check runs, the requests the app made, the webhooks delivered) and from the
store (the incident's timeline): the narration reports effects, not intentions."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from watchkeeper.demo.delivery import Sent
from watchkeeper.demo.world import APP_SLUG, REPO
from watchkeeper.record import TimelineEntry

if TYPE_CHECKING:
    from watchkeeper.demo.stage import Stage

BOT = f"{APP_SLUG}[bot]"


@dataclass(frozen=True, slots=True)
class IssueView:
    number: int
    is_pull: bool
    title: str
    state: str
    labels: tuple[str, ...]
    comments: int
    author: str


@dataclass(frozen=True, slots=True)
class Snapshot:
    requests: int
    sent: int
    dead: int
    issues: dict[int, IssueView]
    timeline: dict[str, int]  # incident ID -> entries recorded


@dataclass
class IssueChange:
    view: IssueView
    opened: bool = False
    title_from: str | None = None
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    state_from: str | None = None
    comments: list[str] = field(default_factory=list)  # the app's new comments


@dataclass
class Changes:
    delivered: list[Sent]
    calls: int
    writes: int
    issues: list[IssueChange]
    checks: list[str]  # "watchkeeper/freeze: failure on pull request #1"
    timeline: list[TimelineEntry]
    new_dead: int


def _views(stage: Stage) -> dict[int, IssueView]:
    return {
        i.number: IssueView(i.number, i.pull is not None, i.title, i.state, tuple(i.labels),
                            len(i.comments), i.user.login)
        for i in stage.fake.repo(REPO).issues.values()
    }


async def snapshot(stage: Stage) -> Snapshot:
    incidents = await stage.runtime.store.list_incidents(open_only=False)
    return Snapshot(len(stage.fake.requests), len(stage.outbox.sent),
                    await stage.dead_letters(), _views(stage),
                    {i.id: len(i.timeline) for i in incidents})


def _check_runs(stage: Stage, since: int) -> list[str]:
    found = []
    repo = stage.fake.repo(REPO)
    by_id = dict(repo.check_runs)
    heads = {repo.branches.get(i.pull.head, i.pull.head_sha): i.number
             for i in repo.issues.values() if i.pull is not None}
    for call in stage.fake.requests[since:]:
        if call.method not in ("POST", "PATCH") or "/check-runs" not in call.path:
            continue
        body = call.json if isinstance(call.json, dict) else {}
        run = by_id.get(int(call.path.rsplit("/", 1)[1])) if call.method == "PATCH" else None
        name = body.get("name") or (run or {}).get("name", "check")
        sha = body.get("head_sha") or (run or {}).get("head_sha", "")
        conclusion = body.get("conclusion") or body.get("status") or "updated"
        where = f"pull request #{heads[sha]}" if sha in heads else f"commit {str(sha)[:12]}"
        found.append(f"{name}: {conclusion} on {where}")
    return found


async def changes(stage: Stage, before: Snapshot) -> Changes:
    calls = stage.fake.requests[before.requests:]
    writes = sum(1 for c in calls if c.method != "GET" and not c.path.startswith("/app/"))
    issues: list[IssueChange] = []
    repo = stage.fake.repo(REPO)
    for number, view in _views(stage).items():
        old = before.issues.get(number)
        change = IssueChange(view, opened=old is None and view.author == BOT)
        if old is not None:
            if old.title != view.title:
                change.title_from = old.title
            change.added = [n for n in view.labels if n not in old.labels]
            change.removed = [n for n in old.labels if n not in view.labels]
            if old.state != view.state:
                change.state_from = old.state
        seen = old.comments if old is not None else 0
        change.comments = [c.body for c in repo.issues[number].comments[seen:]
                           if c.user.login == BOT]
        if change.opened or change.title_from or change.added or change.removed \
                or change.state_from or change.comments:
            issues.append(change)
    entries: list[TimelineEntry] = []
    for incident in await stage.runtime.store.list_incidents(open_only=False):
        entries.extend(incident.timeline[before.timeline.get(incident.id, 0):])
    return Changes(
        delivered=stage.outbox.sent[before.sent:], calls=len(calls), writes=writes,
        issues=issues, checks=_check_runs(stage, before.requests), timeline=entries,
        new_dead=await stage.dead_letters() - before.dead)
