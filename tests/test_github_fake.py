"""The fake GitHub itself: webhooks it echoes, GitHub's shapes, Git and pull-request flows.

Endpoints the gateway does not call yet are exercised with plain httpx, authenticated the way
an app is (JWT -> installation token), so later features can rely on them.
"""

from __future__ import annotations

import base64
import time
from typing import Any

import httpx
import jwt
import pytest

from watchkeeper.github.fake import FakeGitHub
from watchkeeper.signals.origin import is_own_event

REPO = "acme/api"
INST = 7


@pytest.fixture
def fake() -> FakeGitHub:
    fake = FakeGitHub(app_id=3, app_slug="watchkeeper")
    fake.add_repo(REPO, installation_id=INST, files={"README.md": "hello\n"})
    return fake


async def _client(fake: FakeGitHub) -> httpx.AsyncClient:
    now = int(time.time())
    app_jwt = jwt.encode({"iss": "3", "iat": now - 60, "exp": now + 540}, fake.private_key,
                         algorithm="RS256")
    async with httpx.AsyncClient(transport=fake, base_url=fake.api_url) as bootstrap:
        answer = await bootstrap.post(f"/app/installations/{INST}/access_tokens",
                                      headers={"authorization": f"Bearer {app_jwt}"})
    assert answer.status_code == 201
    return httpx.AsyncClient(transport=fake, base_url=fake.api_url,
                             headers={"authorization": f"token {answer.json()['token']}"})


def _record(fake: FakeGitHub) -> list[tuple[str, dict[str, Any]]]:
    events: list[tuple[str, dict[str, Any]]] = []
    fake.on_event = lambda name, payload: events.append((name, payload))
    return events


async def test_app_changes_echo_as_bot_webhooks(fake: FakeGitHub) -> None:
    events = _record(fake)
    async with await _client(fake) as gh:
        await gh.post("/repos/acme/api/issues", json={"title": "T", "body": "B",
                                                      "labels": ["incident"]})
        await gh.patch("/repos/acme/api/issues/1", json={"body": "B2", "state": "closed"})
        await gh.post("/repos/acme/api/issues/1/comments", json={"body": "c"})
    assert [(name, p["action"]) for name, p in events] == [
        ("issues", "opened"), ("issues", "labeled"), ("issues", "edited"),
        ("issues", "closed"), ("issue_comment", "created")]
    for _, payload in events:
        assert payload["sender"]["login"] == "watchkeeper[bot]"
        assert payload["sender"]["type"] == "Bot"
        assert payload["installation"]["id"] == INST
        assert payload["repository"]["full_name"] == REPO
        assert is_own_event(payload, "watchkeeper")
    assert events[1][1]["label"]["name"] == "incident"
    assert events[2][1]["changes"] == {"body": {"from": "B"}}
    assert events[3][1]["issue"]["state_reason"] == "completed"
    assert events[4][1]["comment"]["body"] == "c"
    assert events[4][1]["issue"]["performed_via_github_app"]["slug"] == "watchkeeper"


def test_people_echo_as_user_webhooks(fake: FakeGitHub) -> None:
    events = _record(fake)
    number = fake.person_open_issue(REPO, "Seen something", "details", login="alice")
    fake.person_edit_issue_body(REPO, number, "more details", login="alice")
    fake.person_add_label(REPO, number, "severity: high", login="bob")
    fake.person_remove_label(REPO, number, "severity: high", login="bob")
    fake.person_assign(REPO, number, ["carol"], login="bob")
    fake.person_comment(REPO, number, "/ack", login="carol")
    fake.person_close_issue(REPO, number, login="carol", reason="not_planned")
    fake.person_reopen_issue(REPO, number, login="carol")
    assert [(name, p["action"], p["sender"]["login"]) for name, p in events] == [
        ("issues", "opened", "alice"), ("issues", "edited", "alice"),
        ("issues", "labeled", "bob"), ("issues", "unlabeled", "bob"),
        ("issues", "assigned", "bob"), ("issue_comment", "created", "carol"),
        ("issues", "closed", "carol"), ("issues", "reopened", "carol")]
    assert all(p["sender"]["type"] == "User" for _, p in events)
    assert not any(is_own_event(p, "watchkeeper") for _, p in events)
    assert events[1][1]["changes"] == {"body": {"from": "details"}}
    assert events[4][1]["assignee"]["login"] == "carol"
    assert events[6][1]["issue"]["state_reason"] == "not_planned"


async def test_shapes_of_errors_and_pages(fake: FakeGitHub) -> None:
    for n in range(5):
        fake.add_label(REPO, f"l{n}")
    async with await _client(fake) as gh:
        first = await gh.get("/repos/acme/api/labels", params={"per_page": 2})
        last = await gh.get("/repos/acme/api/labels", params={"per_page": 2, "page": 3})
        missing = await gh.get("/repos/acme/api/issues/9")
        duplicate = await gh.post("/repos/acme/api/labels", json={"name": "L1", "color": "ffffff"})
        too_long = await gh.post("/repos/acme/api/issues", json={"title": "t", "body": "x" * 65537})
    async with httpx.AsyncClient(transport=fake) as nobody:
        anonymous = await nobody.get(f"{fake.api_url}/repos/acme/api")
    assert [lb["name"] for lb in first.json()] == ["l0", "l1"]
    assert first.links["next"]["url"] == (
        "https://api.github.com/repos/acme/api/labels?per_page=2&page=2")
    assert first.links["last"]["url"].endswith("page=3")
    assert "next" not in last.links and last.links["first"]["url"].endswith("page=1")
    assert [lb["name"] for lb in last.json()] == ["l4"]
    assert missing.status_code == 404
    assert missing.json() == {"message": "Not Found",
                              "documentation_url": "https://docs.github.com/rest",
                              "status": "404"}
    assert duplicate.status_code == 422
    assert duplicate.json()["errors"] == [
        {"resource": "Label", "field": "name", "code": "already_exists"}]
    assert too_long.json()["errors"][0]["message"] == (
        "body is too long (maximum is 65536 characters)")
    assert (anonymous.status_code, anonymous.json()["message"]) == (401, "Bad credentials")


async def test_git_contents_and_pull_request_flow(fake: FakeGitHub) -> None:
    events = _record(fake)
    async with await _client(fake) as gh:
        main = (await gh.get("/repos/acme/api/git/ref/heads/main")).json()["object"]["sha"]
        created = await gh.post("/repos/acme/api/git/refs",
                                json={"ref": "refs/heads/watchkeeper/pm-1", "sha": main})
        again = await gh.post("/repos/acme/api/git/refs",
                              json={"ref": "refs/heads/watchkeeper/pm-1", "sha": main})
        content = base64.b64encode(b"# Postmortem\n").decode()
        put = await gh.put("/repos/acme/api/contents/docs/pm.md", json={
            "message": "Add postmortem", "content": content, "branch": "watchkeeper/pm-1"})
        no_sha = await gh.put("/repos/acme/api/contents/docs/pm.md", json={
            "message": "m", "content": content, "branch": "watchkeeper/pm-1"})
        stale = await gh.put("/repos/acme/api/contents/docs/pm.md", json={
            "message": "m", "content": content, "branch": "watchkeeper/pm-1", "sha": "0" * 40})
        pull = await gh.post("/repos/acme/api/pulls", json={
            "title": "Postmortem", "head": "acme:watchkeeper/pm-1", "base": "main",
            "body": "Closes nothing"})
        dup = await gh.post("/repos/acme/api/pulls", json={
            "title": "Again", "head": "watchkeeper/pm-1", "base": "main"})
        listed = await gh.get("/repos/acme/api/pulls",
                              params={"head": "acme:watchkeeper/pm-1", "state": "open"})
        merged = await gh.put(f"/repos/acme/api/pulls/{pull.json()['number']}/merge")
        twice = await gh.put(f"/repos/acme/api/pulls/{pull.json()['number']}/merge")
        on_main = await gh.get("/repos/acme/api/contents/docs/pm.md")
    assert (created.status_code, again.status_code) == (201, 422)
    assert again.json()["message"] == "Reference already exists"
    assert put.status_code == 201 and put.json()["content"]["path"] == "docs/pm.md"
    assert (no_sha.status_code, stale.status_code) == (422, 409)
    assert pull.status_code == 201
    assert pull.json()["head"]["ref"] == "watchkeeper/pm-1"
    assert dup.status_code == 422
    assert [p["number"] for p in listed.json()] == [pull.json()["number"]]
    assert merged.json()["merged"] is True and twice.status_code == 405
    assert base64.b64decode(on_main.json()["content"]) == b"# Postmortem\n"
    assert [(name, p["action"]) for name, p in events] == [
        ("pull_request", "opened"), ("pull_request", "closed")]
    assert events[1][1]["pull_request"]["merged"] is True


async def test_checks_jobs_and_milestones(fake: FakeGitHub) -> None:
    fake.add_workflow_jobs(REPO, 55, [{"id": 1, "name": "build", "conclusion": "failure"}])
    fake.add_milestone(REPO, "Q3 hardening")
    fake.add_milestone(REPO, "Done", state="closed")
    async with await _client(fake) as gh:
        run = await gh.post("/repos/acme/api/check-runs", json={
            "name": "watchkeeper", "head_sha": "abc", "status": "in_progress"})
        done = await gh.patch(f"/repos/acme/api/check-runs/{run.json()['id']}",
                              json={"conclusion": "success"})
        jobs = await gh.get("/repos/acme/api/actions/runs/55/jobs")
        attempt = await gh.get("/repos/acme/api/actions/runs/55/attempts/2/jobs")
        milestones = await gh.get("/repos/acme/api/milestones")
    assert run.status_code == 201 and run.json()["app"]["slug"] == "watchkeeper"
    assert (done.json()["status"], done.json()["conclusion"]) == ("completed", "success")
    assert jobs.json() == {"total_count": 1, "jobs": [
        {"id": 1, "name": "build", "conclusion": "failure"}]}
    assert attempt.json() == jobs.json()
    assert [m["title"] for m in milestones.json()] == ["Q3 hardening"]


async def test_injected_faults(fake: FakeGitHub) -> None:
    fake.fail_next("GET", r"/repos/acme/api", 503, times=2)
    fake.fail_next("GET", r"/repos/acme/api/issues", 0, exc=httpx.ReadTimeout)
    async with await _client(fake) as gh:
        statuses = [(await gh.get("/repos/acme/api")).status_code for _ in range(3)]
        with pytest.raises(httpx.ReadTimeout):
            await gh.get("/repos/acme/api/issues")
        assert (await gh.get("/repos/acme/api/issues")).status_code == 200
    assert statuses == [503, 503, 200]
    assert [r.path for r in fake.calls("GET", r"/repos/acme/api.*")] == [
        "/repos/acme/api"] * 3 + ["/repos/acme/api/issues"] * 2


async def test_jwt_is_checked(fake: FakeGitHub) -> None:
    now = int(time.time())
    too_long = jwt.encode({"iss": "3", "iat": now - 60, "exp": now + 900}, fake.private_key,
                          algorithm="RS256")
    wrong_app = jwt.encode({"iss": "4", "iat": now - 60, "exp": now + 500}, fake.private_key,
                           algorithm="RS256")
    async with httpx.AsyncClient(transport=fake, base_url=fake.api_url) as gh:
        for token in (too_long, wrong_app, "not-a-jwt"):
            answer = await gh.post(f"/app/installations/{INST}/access_tokens",
                                   headers={"authorization": f"Bearer {token}"})
            assert answer.status_code == 401
    assert fake.tokens_issued == 0
