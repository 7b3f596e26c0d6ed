"""A dry run of one webhook delivery: what Watchkeeper would do on GitHub, with no GitHub.

``watchkeeper simulate`` needs the answer to "given this payload and this config, which issue
would be opened, with which title, labels, body and comments?". Two ways were possible:

- ``github/planning.PlanningExecutor`` replaces the executor and lists the writes each action
  might need. It cannot answer reads (the repository's config file, a permission lookup, the
  marker search before a retried create), features whose actions it was not taught to plan stop
  it, and the body it can show is the action's, not the issue GitHub would end up with.
- The stateful fake GitHub (``github/fake``) behind the real gateway. The runtime is built by
  ``wiring.build_runtime`` exactly as ``watchkeeper serve`` builds it (router, policy, decide,
  every installed feature, the idempotent executor, githubkit and the HTTP layer); only the
  transport differs. The config is fetched the way the app fetches it, so a broken file is
  reported the way the incident would report it.

The fake is the more faithful of the two, so it is what runs here. It starts with the payload's
repository (its default branch and visibility from the payload), the given files on that
branch, the incidents repository the config names, and nothing else: the result is what a
first delivery to a repository with no earlier incidents would do. The report lists every
request the app made and the resulting state of the simulated issues, pull requests and files.
No request leaves the process (the fake is an httpx transport; tests assert it).
"""

from __future__ import annotations

import copy
import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from watchkeeper.clock import FrozenClock
from watchkeeper.github.fake import FakeGitHub
from watchkeeper.github.fake.state import Repo
from watchkeeper.github.repo_config import CONFIG_PATH
from watchkeeper.routing import MalformedPayload, default_router
from watchkeeper.runbook.config import load_config
from watchkeeper.runbook.policy import classify
from watchkeeper.settings import Settings
from watchkeeper.store.base import Delivery
from watchkeeper.store.sqlite import SqliteStore
from watchkeeper.wiring import build_runtime

SIMULATED_APP_ID = 1
SIMULATED_INSTALLATION = 1
APP_SLUG = "watchkeeper"

log = logging.getLogger(__name__)


class SimulationInputError(ValueError):
    """The payload cannot be simulated (no repository to act in)."""


@dataclass(frozen=True, slots=True)
class SignalVerdict:
    kind: str
    source: str
    title: str
    rule: str | None  # the rule that opens an incident, for detections
    severity: str | None


@dataclass(frozen=True, slots=True)
class SimulatedCall:
    method: str
    path: str
    body: Any


@dataclass(frozen=True, slots=True)
class SimulatedComment:
    author: str
    body: str


@dataclass(frozen=True, slots=True)
class SimulatedIssue:
    repo: str
    number: int
    kind: str  # "issue" | "pull_request"
    title: str
    state: str
    labels: tuple[str, ...]
    assignees: tuple[str, ...]
    body: str
    comments: tuple[SimulatedComment, ...]
    head: str | None = None
    base: str | None = None


@dataclass(frozen=True, slots=True)
class SimulatedFile:
    repo: str
    branch: str
    path: str
    text: str | None  # None: deleted


@dataclass(frozen=True, slots=True)
class Simulation:
    event: str
    action: str | None
    repo: str
    now: datetime
    installation_added: bool  # the payload had none; GitHub always sends one to an App
    config_files: tuple[str, ...]  # paths of the repository files given
    config_problems: tuple[str, ...]
    signals: tuple[SignalVerdict, ...]
    calls: tuple[SimulatedCall, ...]  # every request the app made, in order
    labels_created: tuple[str, ...]
    issues: tuple[SimulatedIssue, ...]
    files: tuple[SimulatedFile, ...]
    error: str | None = None  # processing failed: what the worker would retry or dead-letter

    @property
    def writes(self) -> tuple[SimulatedCall, ...]:
        return tuple(c for c in self.calls if c.method != "GET")

    def to_json(self) -> dict[str, Any]:
        def plain(value: Any) -> Any:
            if isinstance(value, datetime):
                return value.isoformat()
            if isinstance(value, tuple | list):
                return [plain(v) for v in value]
            if hasattr(value, "__dataclass_fields__"):
                return {name: plain(getattr(value, name)) for name in value.__dataclass_fields__}
            return value

        data = plain(self)
        data["writes"] = len(self.writes)
        return data  # type: ignore[no-any-return]


def _repository(payload: Mapping[str, Any]) -> tuple[str, str, bool]:
    repo = payload.get("repository")
    name = repo.get("full_name") if isinstance(repo, dict) else None
    if not isinstance(name, str) or name.count("/") != 1:
        raise SimulationInputError("the payload names no repository (repository.full_name)")
    branch = repo.get("default_branch") or "main"  # type: ignore[union-attr]
    private = repo.get("private")  # type: ignore[union-attr]
    return name, str(branch), private is not False


def _with_installation(payload: dict[str, Any]) -> tuple[dict[str, Any], int, bool]:
    installation = payload.get("installation")
    if isinstance(installation, dict) and isinstance(installation.get("id"), int):
        return payload, installation["id"], False
    # Examples copied from documentation often lack it; every delivery to an App carries it.
    patched = copy.deepcopy(payload)
    patched["installation"] = {"id": SIMULATED_INSTALLATION}
    return patched, SIMULATED_INSTALLATION, True


async def simulate(
    event: str,
    payload: dict[str, Any],
    *,
    files: Mapping[str, str] | None = None,
    now: datetime | None = None,
) -> Simulation:
    """Process one delivery against a simulated GitHub seeded from the payload and ``files``.

    ``files`` maps a path in the payload's repository (``.github/watchkeeper.yml`` is the
    config) to its text, on the default branch.
    """
    now = (now or datetime.now(UTC)).astimezone(UTC)
    files = dict(files or {})
    full_name, default_branch, private = _repository(payload)
    payload, installation_id, added = _with_installation(payload)

    fake = FakeGitHub(app_id=SIMULATED_APP_ID, app_slug=APP_SLUG, clock=lambda: now)
    fake.add_repo(full_name, installation_id=installation_id, private=private,
                  default_branch=default_branch, files=files)
    # Loaded as the app loads it (same source name), so problems read as an incident shows them.
    config = load_config(None, files.get(CONFIG_PATH), repo_source=f"{full_name}:{CONFIG_PATH}")
    tracker = config.incidents_repository
    if tracker and tracker.lower() not in fake.world.repos:
        fake.add_repo(tracker, installation_id=installation_id, private=True)
    before = {key: dict(repo.branches) for key, repo in fake.world.repos.items()}

    settings = Settings(
        app_id=SIMULATED_APP_ID,
        private_key=fake.private_key,
        webhook_secrets=("simulation-only",),
        github_api_url=fake.api_url,
        database_url="sqlite:///:memory:",
        mutation_interval=0.0,
        app_slug=APP_SLUG,
    )
    store = SqliteStore(":memory:")
    runtime = build_runtime(settings, store=store, transport=fake, clock=FrozenClock(now))
    signals, error = _verdicts(event, payload, now, config)
    body = json.dumps(payload).encode("utf-8")
    action = payload.get("action") if isinstance(payload.get("action"), str) else None
    delivery = Delivery("simulated-delivery", event, action, body, now, attempts=1)
    try:
        async with runtime.gateway.session():
            await runtime.pipeline.process(delivery)
    except Exception as exc:  # reported, as the worker would log it before retrying
        log.debug("simulated delivery failed", exc_info=True)
        error = f"{type(exc).__name__}: {exc}"
    finally:
        await store.close()

    return Simulation(
        event=event,
        action=action,
        repo=full_name,
        now=now,
        installation_added=added,
        config_files=tuple(sorted(files)),
        config_problems=config.problems,
        signals=signals,
        calls=tuple(SimulatedCall(r.method, r.path, r.json) for r in fake.requests
                    if not r.path.startswith("/app")),
        labels_created=tuple(
            label.name for repo in fake.world.repos.values() for label in repo.labels.values()),
        issues=tuple(_issue(repo, issue) for repo in fake.world.repos.values()
                     for issue in repo.issues.values()),
        files=tuple(_changed_files(fake.world.repos, before)),
        error=error,
    )


def _verdicts(event: str, payload: Mapping[str, Any], now: datetime, config: Any
              ) -> tuple[tuple[SignalVerdict, ...], str | None]:
    """Which signals the payload carries and which rule each meets (explains a no-op)."""
    try:
        signals = default_router().route(event, payload, received_at=now)
    except MalformedPayload as exc:
        return (), f"malformed {event} payload: {exc}"
    verdicts = []
    for signal in signals:
        match = classify(signal, config)
        verdicts.append(SignalVerdict(signal.kind, signal.source, signal.title,
                                      match.rule if match else None,
                                      match.severity if match else None))
    return tuple(verdicts), None


def _issue(repo: Repo, issue: Any) -> SimulatedIssue:
    pull = issue.pull
    return SimulatedIssue(
        repo=repo.full_name,
        number=issue.number,
        kind="pull_request" if pull is not None else "issue",
        title=issue.title,
        state=issue.state,
        labels=tuple(issue.labels),
        assignees=tuple(issue.assignees),
        body=issue.body or "",
        comments=tuple(SimulatedComment(c.user.login, c.body) for c in issue.comments),
        head=pull.head if pull is not None else None,
        base=pull.base if pull is not None else None,
    )


def _changed_files(repos: Mapping[str, Repo], before: Mapping[str, Mapping[str, str]]
                   ) -> list[SimulatedFile]:
    """Files that differ on any branch from what the branch (or the default branch) held."""
    changed: list[SimulatedFile] = []
    for key, repo in repos.items():
        start = before.get(key, {})
        base_sha = start.get(repo.default_branch)
        for branch, sha in sorted(repo.branches.items()):
            old_sha = start.get(branch, base_sha)
            if sha == old_sha:
                continue
            old = repo.commits.get(old_sha, {}) if old_sha else {}
            new = repo.commits.get(sha, {})
            for path in sorted(set(old) | set(new)):
                if old.get(path) != new.get(path):
                    changed.append(SimulatedFile(repo.full_name, branch, path, new.get(path)))
    return changed
