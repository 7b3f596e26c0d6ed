"""GitHubGateway: a contract suite against the stateful fake, then exact wire shapes (respx).

The contract half runs the real client (githubkit, auth and all) against FakeGitHub, so the
fake used by the other suites is checked against the client that production uses. The respx
half pins the requests sent and how GitHub's failure answers are mapped for the worker.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest
import respx

from watchkeeper.actions import LabelSpec
from watchkeeper.errors import PermanentError, RetryableError
from watchkeeper.github.client import GitHubGateway
from watchkeeper.github.failures import NotFoundError
from watchkeeper.github.fake import FakeGitHub, demo_private_key
from watchkeeper.github.gateway import CommentView, IssueView, RepoInfo

REPO = "acme/api"
INST = 7


@pytest.fixture
def fake() -> FakeGitHub:
    fake = FakeGitHub(app_id=42)
    fake.add_repo(REPO, installation_id=INST, default_branch="trunk", private=True,
                  files={".github/watchkeeper.yml": "severity: high # ünïcode\n"})
    fake.set_permission(REPO, "alice", "maintain")
    fake.set_permission(REPO, "bob", "write")
    return fake


@pytest.fixture
def gateway(fake: FakeGitHub) -> GitHubGateway:
    return GitHubGateway(fake.app_id, fake.private_key, fake.api_url, transport=fake,
                         mutation_interval=0)


# --- contract: the real client against the fake ------------------------------------------

async def test_repo_and_files(fake: FakeGitHub, gateway: GitHubGateway) -> None:
    fake.create_branch(REPO, "feature")
    fake.set_file(REPO, "notes.md", "only on feature", branch="feature")
    assert await gateway.get_repo(INST, REPO) == RepoInfo(default_branch="trunk", private=True)
    text = await gateway.get_file_text(INST, REPO, ".github/watchkeeper.yml")
    assert text == "severity: high # ünïcode\n"
    assert await gateway.get_file_text(INST, REPO, "notes.md") is None
    assert await gateway.get_file_text(INST, REPO, "notes.md", ref="feature") == "only on feature"
    assert await gateway.get_file_text(INST, "acme/missing", "x.yml") is None
    assert await gateway.get_file_text(INST, REPO, ".github") is None  # a directory


async def test_issue_round_trip(fake: FakeGitHub, gateway: GitHubGateway) -> None:
    number = await gateway.create_issue(INST, REPO, "Leak", "body", labels=["incident"],
                                        assignees=["alice"])
    assert number == 1
    view = await gateway.get_issue(INST, REPO, number)
    assert view == IssueView(1, "Leak", "body", "open", None, ("incident",), ("alice",),
                             "https://github.com/acme/api/issues/1")
    await gateway.update_issue(INST, REPO, number, title="Leak!", state="closed",
                               state_reason="not_planned", labels=["incident", "sev:high"],
                               assignees=["bob"])
    view = await gateway.get_issue(INST, REPO, number)
    assert (view.title, view.state, view.state_reason) == ("Leak!", "closed", "not_planned")
    assert (view.labels, view.assignees) == (("incident", "sev:high"), ("bob",))
    await gateway.update_issue(INST, REPO, number, state="open")
    assert (await gateway.get_issue(INST, REPO, number)).state_reason == "reopened"


async def test_update_sends_only_given_fields(fake: FakeGitHub, gateway: GitHubGateway) -> None:
    number = await gateway.create_issue(INST, REPO, "t", "b")
    await gateway.update_issue(INST, REPO, number, body="new")
    await gateway.update_issue(INST, REPO, number)  # nothing to change: no request
    patches = fake.calls("PATCH")
    assert [(p.path, p.json) for p in patches] == [("/repos/acme/api/issues/1", {"body": "new"})]


async def test_missing_issue_is_not_found(gateway: GitHubGateway) -> None:
    with pytest.raises(NotFoundError, match="GET /repos/acme/api/issues/99: not found"):
        await gateway.get_issue(INST, REPO, 99)


async def test_list_issues_with_label_follows_pages(fake: FakeGitHub,
                                                    gateway: GitHubGateway) -> None:
    for n in range(103):
        fake.person_open_issue(REPO, f"issue {n}", labels=["incident"] if n % 2 == 0 else [])
    fake.person_close_issue(REPO, 1)
    fake.create_branch(REPO, "fix")
    fake.set_file(REPO, "a.txt", "x", branch="fix")
    pr = fake.person_open_pr(REPO, head="fix", title="pr")
    fake.person_add_label(REPO, pr, "incident")
    fake.requests.clear()
    found = await gateway.list_issues_with_label(INST, REPO, "incident")
    assert sorted(i.number for i in found) == list(range(1, 104, 2))  # PR excluded
    assert [r.query for r in fake.calls("GET")] == [
        {"labels": "incident", "state": "all", "per_page": "100"}
    ]
    open_only = await gateway.list_issues_with_label(INST, REPO, "incident", state="open")
    assert 1 not in {i.number for i in open_only} and len(open_only) == 51

    for n in range(150):
        fake.person_open_issue(REPO, f"more {n}", labels=["bulk"])
    fake.requests.clear()
    assert len(await gateway.list_issues_with_label(INST, REPO, "bulk")) == 150
    assert [r.query.get("page") for r in fake.calls("GET")] == [None, "2"]


async def test_labels(fake: FakeGitHub, gateway: GitHubGateway) -> None:
    fake.add_label(REPO, "Incident", "000000")
    specs = [LabelSpec("incident", "d73a4a", "Security incident"),
             LabelSpec("severity: critical", "#b60205", "x" * 150)]
    assert await gateway.ensure_labels(INST, REPO, specs) == ("severity: critical",)
    created = fake.repo(REPO).label("severity: critical")
    assert created is not None and (created.color, created.description) == ("b60205", "x" * 100)
    fake.requests.clear()
    assert await gateway.ensure_labels(INST, REPO, specs[:1]) == ()
    assert fake.requests == []  # known labels are cached per repository

    number = await gateway.create_issue(INST, REPO, "t", "b")
    await gateway.add_labels(INST, REPO, number, ["severity: critical", "incident"])
    await gateway.remove_label(INST, REPO, number, "severity: critical")
    await gateway.remove_label(INST, REPO, number, "never-there")  # 404 tolerated
    assert fake.issue(REPO, number).labels == ["Incident"]
    assert fake.calls("DELETE")[0].path == "/repos/acme/api/issues/1/labels/severity: critical"


async def test_ensure_labels_tolerates_concurrent_creation(fake: FakeGitHub,
                                                           gateway: GitHubGateway) -> None:
    fake.fail_next("POST", r"/repos/acme/api/labels", 422, json={
        "message": "Validation Failed",
        "errors": [{"resource": "Label", "code": "already_exists", "field": "name"}]})
    assert await gateway.ensure_labels(INST, REPO, [LabelSpec("incident", "ffffff", "")]) == ()
    fake.fail_next("POST", r"/repos/acme/api/labels", 422, json={
        "message": "Validation Failed",
        "errors": [{"resource": "Label", "code": "invalid", "field": "color"}]})
    with pytest.raises(PermanentError, match="validation failed: Validation Failed"):
        await gateway.ensure_labels(INST, REPO, [LabelSpec("other", "zzzzzz", "")])


async def test_comments(fake: FakeGitHub, gateway: GitHubGateway) -> None:
    number = await gateway.create_comment(INST, REPO, await gateway.create_issue(
        INST, REPO, "t", "b"), "first")
    fake.person_comment(REPO, 1, "from a human", login="alice")
    for n in range(120):
        fake.person_comment(REPO, 1, f"c{n}", login="bob")
    comments = await gateway.list_comments(INST, REPO, 1)
    assert len(comments) == 122
    assert comments[:2] == [CommentView(number, "first", "watchkeeper[bot]"),
                            CommentView(comments[1].id, "from a human", "alice")]


async def test_permission(fake: FakeGitHub, gateway: GitHubGateway) -> None:
    assert await gateway.get_permission(INST, REPO, "alice") == "maintain"
    assert await gateway.get_permission(INST, REPO, "bob") == "write"
    assert await gateway.get_permission(INST, REPO, "mallory") == "none"  # 404
    fake.requests.clear()
    assert await gateway.get_permission(INST, REPO, "../../admin") == "none"
    assert fake.requests == []


async def test_bad_repository_names_never_reach_a_url(fake: FakeGitHub,
                                                      gateway: GitHubGateway) -> None:
    for bad in ("acme", "acme/api/../../x", "../x", "acme/a b"):
        with pytest.raises(PermanentError, match="not a repository name"):
            await gateway.get_repo(INST, bad)
    with pytest.raises(PermanentError, match="not a repository file path"):
        await gateway.get_file_text(INST, REPO, "../secrets")
    assert fake.requests == []


async def test_other_installations_repositories_are_invisible(fake: FakeGitHub,
                                                              gateway: GitHubGateway) -> None:
    fake.add_repo("other/repo", installation_id=8)
    with pytest.raises(NotFoundError):
        await gateway.get_repo(INST, "other/repo")


async def test_rate_limit_and_calls_are_reported(fake: FakeGitHub) -> None:
    calls: list[tuple[str, int]] = []
    gateway = GitHubGateway(fake.app_id, fake.private_key, fake.api_url, transport=fake,
                            mutation_interval=0, on_call=lambda m, s: calls.append((m, s)))
    assert gateway.rate_limit_remaining(INST) is None
    await gateway.get_repo(INST, REPO)
    await gateway.get_repo(INST, REPO)
    assert gateway.rate_limit_remaining(INST) == 4998
    assert gateway.rate_limits() == {INST: 4998}
    fake.fail_next("POST", r"/repos/acme/api/issues", 0, exc=httpx.ConnectError)
    with pytest.raises(RetryableError):
        await gateway.create_issue(INST, REPO, "t", "b")
    await gateway.get_file_text(INST, REPO, "missing.txt")
    assert calls == [("GET", 200), ("GET", 200), ("POST", 0), ("GET", 404)]


async def test_app_level_calls(fake: FakeGitHub, gateway: GitHubGateway) -> None:
    assert await gateway.get_app_slug() == "watchkeeper"
    assert await gateway.get_repo_installation_id(REPO) == INST
    assert await gateway.get_repo_installation_id("acme/missing") is None
    assert fake.tokens_issued == 0  # app routes use the JWT, not an installation token


async def test_session_reuses_one_http_client(fake: FakeGitHub, gateway: GitHubGateway,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    from githubkit.core import GitHubCore

    created: list[object] = []
    original = GitHubCore._create_async_client

    async def counting(self: GitHubCore[Any]) -> httpx.AsyncClient:
        created.append(self)
        return await original(self)

    monkeypatch.setattr(GitHubCore, "_create_async_client", counting)
    await gateway.get_repo(INST, REPO)
    await gateway.get_repo(INST, REPO)
    assert len(created) == 2  # without a session: one client per call
    created.clear()
    async with gateway.session():
        for _ in range(3):
            await gateway.get_repo(INST, REPO)
        async with gateway.session():  # nested: the outer session's client is kept
            await gateway.get_repo(INST, REPO)
    assert len(created) == 1


async def test_mutations_are_paced_per_installation(fake: FakeGitHub) -> None:
    clock = {"t": 100.0}
    sleeps: list[float] = []

    async def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        clock["t"] += seconds

    gateway = GitHubGateway(fake.app_id, fake.private_key, fake.api_url, transport=fake,
                            mutation_interval=1.0, sleep=sleep, monotonic=lambda: clock["t"])
    fake.add_repo("beta/web", installation_id=9)
    await gateway.create_issue(INST, REPO, "a", "")
    await gateway.get_issue(INST, REPO, 1)  # reads are not paced
    await gateway.create_comment(INST, REPO, 1, "x")
    await gateway.create_issue(9, "beta/web", "b", "")  # another installation: own pace
    clock["t"] += 0.25
    await gateway.add_labels(INST, REPO, 1, ["l"])
    assert sleeps == [1.0, 0.75]


async def test_concurrent_mutations_wait_their_turn(fake: FakeGitHub) -> None:
    clock = {"t": 0.0}
    sleeps: list[float] = []

    async def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        clock["t"] += seconds
        await asyncio.sleep(0)  # let the other task try to slip in

    gateway = GitHubGateway(fake.app_id, fake.private_key, fake.api_url, transport=fake,
                            mutation_interval=1.0, sleep=sleep, monotonic=lambda: clock["t"])
    await gateway.get_repo(INST, REPO)  # fetch the token first
    await asyncio.gather(*(gateway.create_issue(INST, REPO, f"i{n}", "") for n in range(3)))
    assert sleeps == [1.0, 1.0]
    assert sorted(i.title for i in fake.issues(REPO)) == ["i0", "i1", "i2"]


# --- wire shapes and failure mapping (respx) -----------------------------------------------

API = "https://api.github.com"
TOKEN = "ghs_TopSecretInstallationToken0001"


def _token_route(mock: respx.MockRouter) -> respx.Route:
    return mock.post(f"/app/installations/{INST}/access_tokens").respond(
        201, json={"token": TOKEN, "expires_at": "2099-01-01T00:00:00Z"})


@pytest.fixture
def wire() -> GitHubGateway:
    return GitHubGateway(42, demo_private_key(), API, mutation_interval=0,
                         wall_clock=lambda: 1_000.0)


@respx.mock(base_url=API, assert_all_called=True)
async def test_create_issue_request_shape(respx_mock: respx.MockRouter,
                                          wire: GitHubGateway) -> None:
    _token_route(respx_mock)
    route = respx_mock.post("/repos/acme/api/issues").respond(201, json={"number": 12})
    number = await wire.create_issue(INST, REPO, "Title", "Body", labels=("incident",),
                                     assignees=("alice",))
    assert number == 12
    request = route.calls.last.request
    assert json.loads(request.content) == {"title": "Title", "body": "Body",
                                           "labels": ["incident"], "assignees": ["alice"]}
    assert request.headers["authorization"] == f"token {TOKEN}"
    assert request.headers["user-agent"] == "watchkeeper"


@respx.mock(base_url=API, assert_all_called=True)
async def test_502_on_create_is_not_retried(respx_mock: respx.MockRouter,
                                            wire: GitHubGateway) -> None:
    _token_route(respx_mock)
    route = respx_mock.post("/repos/acme/api/issues").respond(502, json={"message": "Bad"})
    with pytest.raises(RetryableError) as caught:
        await wire.create_issue(INST, REPO, "t", "b")
    assert route.call_count == 1
    assert caught.value.retry_after is None
    assert str(caught.value) == "POST /repos/acme/api/issues: GitHub answered 502"


@pytest.mark.parametrize(
    ("status", "headers", "body", "retry_after"),
    [
        (403, {"retry-after": "30"}, {"message": "You have exceeded a secondary rate limit"}, 30),
        (429, {"retry-after": "5"}, {"message": "slow down"}, 5),
        (403, {"x-ratelimit-remaining": "0", "x-ratelimit-reset": "1120"},
         {"message": "API rate limit exceeded"}, 120),
        (429, {"x-ratelimit-remaining": "0", "x-ratelimit-reset": "900"}, {"message": "x"}, 0),
        (403, {}, {"message": "You have exceeded a secondary rate limit. Please wait."}, 60),
        (429, {}, {"message": "Too Many Requests"}, 60),
    ],
)
async def test_rate_limits_are_retryable_with_the_wait(
    wire: GitHubGateway, status: int, headers: dict[str, str], body: dict[str, str],
    retry_after: float,
) -> None:
    with respx.mock(base_url=API, assert_all_called=True) as mock:
        _token_route(mock)
        route = mock.patch("/repos/acme/api/issues/3").respond(status, headers=headers,
                                                               json=body)
        with pytest.raises(RetryableError) as caught:
            await wire.update_issue(INST, REPO, 3, body="x")
    assert route.call_count == 1
    assert caught.value.retry_after == retry_after


@respx.mock(base_url=API, assert_all_called=True)
async def test_forbidden_without_rate_limit_is_permanent(respx_mock: respx.MockRouter,
                                                         wire: GitHubGateway) -> None:
    _token_route(respx_mock)
    respx_mock.get("/repos/acme/api").respond(
        403, json={"message": "Resource not accessible by integration"},
        headers={"x-accepted-github-permissions": "metadata=read", "x-ratelimit-remaining": "17"})
    with pytest.raises(PermanentError) as caught:
        await wire.get_repo(INST, REPO)
    assert not isinstance(caught.value, RetryableError)
    assert str(caught.value) == (
        "GET /repos/acme/api: forbidden: Resource not accessible by integration; "
        "the endpoint accepts permissions: metadata=read")
    assert wire.rate_limit_remaining(INST) == 17


@respx.mock(base_url=API, assert_all_called=True)
async def test_validation_error_is_permanent(respx_mock: respx.MockRouter,
                                             wire: GitHubGateway) -> None:
    _token_route(respx_mock)
    respx_mock.post("/repos/acme/api/issues/3/comments").respond(422, json={
        "message": "Validation Failed",
        "errors": [{"resource": "IssueComment", "code": "custom", "field": "body",
                    "message": "body is too long (maximum is 65536 characters)"}]})
    with pytest.raises(PermanentError, match=r"body is too long \(maximum is 65536"):
        await wire.create_comment(INST, REPO, 3, "x")


@pytest.mark.parametrize("error", [httpx.ReadTimeout("slow"), httpx.ConnectError("refused")])
async def test_timeouts_and_connection_errors_are_retryable(wire: GitHubGateway,
                                                            error: Exception) -> None:
    with respx.mock(base_url=API, assert_all_called=True) as mock:
        _token_route(mock)
        route = mock.get("/repos/acme/api").mock(side_effect=error)
        with pytest.raises(RetryableError, match=r"GET /repos/acme/api: (timed out|connection)"):
            await wire.get_repo(INST, REPO)
    assert route.call_count == 1


@respx.mock(base_url=API, assert_all_called=True)
async def test_unknown_installation_is_permanent(respx_mock: respx.MockRouter,
                                                 wire: GitHubGateway) -> None:
    respx_mock.post(f"/app/installations/{INST}/access_tokens").respond(
        404, json={"message": "Not Found"})
    with pytest.raises(PermanentError) as caught:
        await wire.get_repo(INST, REPO)
    assert str(caught.value) == (
        "installation token for 7: installation not found (the app was uninstalled?)")


@respx.mock(base_url=API, assert_all_called=True)
async def test_token_server_error_is_retryable(respx_mock: respx.MockRouter,
                                               wire: GitHubGateway) -> None:
    respx_mock.post(f"/app/installations/{INST}/access_tokens").respond(503)
    with pytest.raises(RetryableError, match="installation token for 7: GitHub answered 503"):
        await wire.get_repo(INST, REPO)


@respx.mock(base_url="https://ghe.example.com/api/v3", assert_all_called=True)
async def test_enterprise_base_url(respx_mock: respx.MockRouter) -> None:
    gateway = GitHubGateway(42, demo_private_key(), "https://ghe.example.com/api/v3/",
                            mutation_interval=0)
    respx_mock.post(f"/app/installations/{INST}/access_tokens").respond(
        201, json={"token": TOKEN, "expires_at": "2099-01-01T00:00:00Z"})
    respx_mock.get("/repos/acme/api").respond(
        200, json={"default_branch": "main", "private": False})
    assert await gateway.get_repo(INST, REPO) == RepoInfo("main", False)


@respx.mock(base_url=API, assert_all_called=True)
async def test_pagination_never_leaves_the_api_host(respx_mock: respx.MockRouter,
                                                    wire: GitHubGateway) -> None:
    _token_route(respx_mock)
    respx_mock.get("/repos/acme/api/issues/1/comments").respond(
        200, json=[{"id": 1, "body": "a", "user": {"login": "x"}}],
        headers={"link": '<https://evil.example.com/steal?page=2>; rel="next"'})
    assert len(await wire.list_comments(INST, REPO, 1)) == 1
