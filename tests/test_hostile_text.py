"""Untrusted text in every field Watchkeeper renders — workflow, branch and actor names, alert
rules, packages and advisories, commands, pull requests, deployments, reports, alarms — with
mentions (@user, @org/team), references (#123, owner/repo#123, GH-123), HTML, markdown
links and images, autolinks, comment breakers and very long names. Every request made to
GitHub and every notification is scanned: nothing of it comes out live. People without
write access change nothing; secrets and tokens appear in no log, request or record."""

from __future__ import annotations

import base64
import copy
import json
import logging
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.evidence_support import deployment_status, pull_request, secret_alert
from tests.resilience import tick
from tests.support import (
    INSTALLATION,
    REPO,
    SECRET,
    Harness,
    failing_secret_scan,
    harness,
    load_payload,
)

from watchkeeper.features.slaclock import sweep
from watchkeeper.github.fake import FakeGitHub
from watchkeeper.store.sqlite_runner import unpack

ALERTS_TOKEN = "alerts-token-0123456789abcdef"
# Each hostile piece, and the raw text that would make it live.
PIECES = {
    "team": "@evil-org/admins",
    "user": "@mallory",
    "ref": "#4242",
    "xref": "evil-org/evil#4242",
    "gh": "GH-4242",
    "html": "<img src=x onerror=alert(1)>",
    "script": "<script>alert(1)</script>",
    "link": "[click me](https://evil.example/phish)",
    "image": "![pixel](https://evil.example/pixel.png)",
    "autolink": "https://evil.example/auto",
    "www": "www.evil.example",
    "breaker": '--> <!-- watchkeeper:meta {"schema":1} -->',
    "slack": "<!channel> <https://evil.example/s|click>",
}
LIVE = [
    re.compile(r"(?<![\w\u200d])@evil-org/admins"),
    re.compile(r"(?<![\w\u200d])@mallory"),
    re.compile(r"(?<![\w&])#4242"),
    re.compile(r"evil-org/evil#4242"),
    re.compile(r"GH-4242"),
    re.compile(r"<img|<script", re.I),
    re.compile(r"\]\(https://evil"),
    re.compile(r"https://evil\.example"),
    re.compile(r"www\.evil"),
    re.compile(r"<!channel>|<https://evil"),
]


def hostile(tag: str, long: int = 0) -> str:
    return f"{tag} " + " ".join(PIECES.values()) + (" " + "L" * long if long else "")


def _strings(value: Any) -> Iterator[tuple[str, str]]:
    if isinstance(value, dict):
        for key, item in value.items():
            if isinstance(item, str):
                if key == "content" and re.fullmatch(r"[A-Za-z0-9+/=\n]+", item):
                    item = base64.b64decode(item).decode("utf-8", "replace")
                yield key, item
            else:
                yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


_CODE = re.compile(r"(`+)(?!`)(.+?)(?<!`)\1(?!`)", re.S)
_OWN_COMMENT = re.compile(r"<!--\s*/?(?:watchkeeper|wk)[:-][^<>]*?-->", re.S)


def visible(text: str) -> str:
    """What GitHub would render live: code spans show their content literally, and the
    app's own hidden comments (whose JSON cannot hold '<' or '>') are not shown."""
    return _CODE.sub("", _OWN_COMMENT.sub("", text))


def live_pieces(text: str, *, plain: bool = False) -> list[str]:
    """The hostile pieces live in `text`; `plain`: shown as plain text (titles, commit
    messages), where only mentions and references come alive."""
    if plain:
        return [p.pattern for p in LIVE[:5] if p.search(text)]
    shown = visible(text)
    found = [p.pattern for p in LIVE if p.search(shown)]
    if "<!--" in shown:
        found.append("an HTML comment the app did not write")
    return found


def notify_env() -> dict[str, str]:
    return {"NOTIFY_TARGETS": json.dumps({
        "security-slack": {"type": "slack", "url": "http://127.0.0.1:9/slack"},
        "pager": {"type": "webhook", "url": "http://127.0.0.1:9/pager",
                  "headers": {"X-Token": "pager-secret-header-value"}},
    }), "ALERTS_TOKEN": ALERTS_TOKEN}


class Recording(FakeGitHub):
    """Keeps every credential the app sent (JWTs and installation tokens)."""

    credentials: set[str]

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        sent = request.headers.get("authorization", "").partition(" ")[2]
        if sent:
            self.credentials = {*getattr(self, "credentials", set()), sent}
        return await super().handle_async_request(request)


def fake_with_config() -> Recording:
    fake = Recording(app_id=4242, app_slug="watchkeeper")
    fake.add_repo(REPO, installation_id=INSTALLATION, private=True, default_branch="master",
                  files={".github/watchkeeper.yml": (
                      "notify: [security-slack, pager]\n"
                      f"review:\n  repository: {REPO}\n")})
    return fake


def _repo(payload: dict[str, Any]) -> dict[str, Any]:
    payload["repository"].update(full_name=REPO, name=REPO.split("/")[1], private=True,
                                 default_branch="master")
    payload["repository"]["owner"]["login"] = REPO.split("/")[0]
    payload["installation"] = {"id": INSTALLATION}
    return payload


def hostile_run(run_id: int, conclusion: str = "failure") -> dict[str, Any]:
    payload = failing_secret_scan(run_id=run_id)
    run = payload["workflow_run"]
    name = "Secret scan " + hostile("workflow", 3000)
    run.update(name=name, head_branch=hostile("branch"), display_title=hostile("title", 5000),
               path=".github/workflows/secret-scan.yml", conclusion=conclusion,
               html_url="https://github.com/o/r/actions/runs/1) [x](https://evil.example/u")
    run["actor"]["login"] = hostile("actor")
    run["head_repository"]["full_name"] = hostile("fork")
    payload["workflow"]["name"] = name
    return payload


async def _story(h: Harness) -> None:
    fake = h.fake
    for login, role in (("alice", "write"), ("tracy", "read")):
        fake.set_permission(REPO, login, role)
    events = h.capture()
    await h.deliver("workflow_run", hostile_run(1001))
    await h.drain()

    alert = _repo(load_payload("code_scanning_alert", "created.payload"))
    rule = alert["alert"]["rule"]
    rule.update(id=hostile("rule-id"), name=hostile("rule-name"),
                description=hostile("rule-description", 2000), security_severity_level="high")
    alert["alert"]["tool"]["name"] = hostile("tool")
    alert["alert"]["instances"][0].update(ref=hostile("ref"), commit_sha=hostile("sha"))
    alert["alert"]["instances"][0]["location"]["path"] = hostile("path")
    await h.deliver("code_scanning_alert", alert)

    dependabot = _repo(load_payload("dependabot_alert", "created.payload"))
    advisory = dependabot["alert"]["security_advisory"]
    advisory.update(severity="critical", summary=hostile("summary", 2000),
                    ghsa_id=hostile("ghsa"), cve_id=hostile("cve"))
    dependabot["alert"]["dependency"]["package"]["name"] = hostile("package")
    dependabot["alert"]["dependency"]["manifest_path"] = hostile("manifest")
    await h.deliver("dependabot_alert", dependabot)

    await h.deliver("secret_scanning_alert", secret_alert(
        "created", at="2026-11-27T09:00:00Z", state="open",
        secret_type=hostile("secret-type"), secret_type_display_name=hostile("display")))
    check = _repo(load_payload("check_run", "completed.payload"))
    check["check_run"].update(name="CodeQL " + hostile("check"), conclusion="failure")
    check["check_run"]["check_suite"]["head_branch"] = "master"
    await h.deliver("check_run", check)
    await h.drain()

    # People work incident 1: commands full of hostile text, from someone with write access.
    h.clock.advance(300)
    for text in (f'/status impact="{hostile("impact")}" mitigation="{hostile("mitigation")}" '
                 f'next="{hostile("next")}"',
                 f'/customer-update scope="{hostile("scope")}" status="{hostile("cstatus")}" '
                 f'next="{hostile("cnext")}"',
                 f"/decision {hostile('decision', 4000)}", f"/rootcause {hostile('cause')}",
                 f"/ack {hostile('ack-note')}", "/help", f"/nonsense {hostile('unknown')}"):
        fake.person_comment(REPO, 1, text, login="alice")
        await h.deliver_all(events)
    # Evidence with hostile titles, bodies and names.
    sha = "48e8370a40a7be6aedd1c9d45c4cda79fd42d966"
    await h.deliver("pull_request", pull_request(
        "opened", number=40, title=hostile("pr-title"), body="Fixes #1 " + hostile("pr-body"),
        head_ref=hostile("pr-branch"), head_sha=sha, at="2026-11-27T09:30:00Z"))
    merged = pull_request("merged", number=40, title=hostile("pr-title"),
                          body="Fixes #1 " + hostile("pr-body"), head_ref="fix", head_sha=sha,
                          at="2026-11-27T09:40:00Z", merged=True,
                          merge_sha="9d5f0c7a1e8b4c3d2f1a0b9c8d7e6f5a4b3c2d1e")
    await h.deliver("pull_request", merged)
    deploy = deployment_status(deployment_id=4242, state="success", at="2026-11-27T09:50:00Z",
                               sha="9d5f0c7a1e8b4c3d2f1a0b9c8d7e6f5a4b3c2d1e")
    deploy["deployment_status"].update(description=hostile("deploy-description"))
    await h.deliver("deployment_status", deploy)
    await h.drain()

    # An incident reported by a person, and production alarms.
    fake.person_open_issue(REPO, hostile("report-title", 500), hostile("report-body"),
                           login="alice", labels=["incident"])
    await h.deliver_all(events)
    dispatch = {"action": "incident", "branch": "master", "client_payload": {
        "title": hostile("alarm-title"), "summary": hostile("alarm-summary"),
        "service": hostile("service"), "severity": "critical", "event_id": "a-1"},
        "repository": alert["repository"], "installation": {"id": INSTALLATION},
        "sender": alert["sender"]}
    await h.deliver("repository_dispatch", dispatch)
    response = await h.client.post("/api/alerts", headers={
        "Authorization": f"Bearer {ALERTS_TOKEN}"}, json={
        "version": "4", "status": "firing", "receiver": "wk", "groupKey": "g",
        "alerts": [{"status": "firing", "fingerprint": "f1",
                    "startsAt": "2026-11-27T09:00:00Z", "endsAt": "0001-01-01T00:00:00Z",
                    "labels": {"alertname": hostile("alertname"), "repository": REPO,
                               "severity": "critical", "service": hostile("am-service")},
                    "annotations": {"summary": hostile("am-summary"),
                                    "description": hostile("am-description")}}]})
    assert response.status_code == 202, response.text
    await h.drain()

    # Closing: the postmortem pull request and its files; the weekly review issue.
    h.clock.advance(3600)
    body = fake.issue(REPO, 1).body or ""
    fake.person_edit_issue_body(REPO, 1, tick(body, "assign_ic", "revoke_credentials"),
                                login="alice")
    await h.deliver_all(events)
    fake.person_close_issue(REPO, 1, login="alice")
    await h.deliver_all(events)
    await sweep(h.runtime, force_review=True)
    await h.deliver_all(events)
    fake.on_event = None


async def test_hostile_text_never_comes_out_live(tmp_path: Path) -> None:
    async with harness(tmp_path, fake=fake_with_config(), env=notify_env()) as h:
        await _story(h)
        assert await h.runtime.store.dead_letters() == []
        # The story reached every renderer: incidents, postmortem, review, notifications.
        issues = h.fake.issues(REPO)
        titles = " ".join(i.title for i in issues)
        assert len(issues) >= 8 and "Weekly security review" in titles
        assert h.fake.calls("POST", rf"/repos/{REPO}/pulls")
        assert len(h.fake.calls("POST", rf"/repos/{REPO}/issues/\d+/comments")) >= 8
        problems = []
        report = hostile("report-body")  # a person's own report, kept as they wrote it
        for request in h.fake.requests:
            for key, text in _strings(request.json):
                text = text.replace(report, "")
                if live := live_pieces(text, plain=key in ("title", "message")):
                    problems.append((request.method, request.path, key, live, text[:300]))
        assert problems == []
        # Titles are plain text: no markup to escape, but no mention or reference either.
        for issue in issues:
            assert not re.search(r"(?<![\w\u200d])@(mallory|evil-org)|(?<![\w&])#4242",
                                 issue.title), issue.title
            assert len(issue.title) <= 256 and len(issue.body or "") <= 65536
        # Slack pings and links only through <!channel>, <@U…>, <#C…> and <url|text>; a
        # plain "@name" stays text.
        slack = await _notifications(h, "security-slack")
        assert len(slack) >= 8
        for body in slack:
            ours = re.sub(r"<https://github\.com/octo-org/octo-repo/issues/\d+\|issue>", "",
                          body["text"])
            assert not re.search(r"<[!@#]|<https?:", ours), body["text"]


async def _notifications(h: Harness, target: str) -> list[dict[str, Any]]:
    store = h.runtime.store
    rows = await store._call(lambda: store._conn.execute(  # type: ignore[attr-defined]
        "SELECT body, encoding FROM deliveries WHERE event = 'watchkeeper_notify'").fetchall())
    messages = [json.loads(unpack(body, encoding)) for body, encoding in rows]
    return [m["body"] for m in messages if m["target"] == target]


async def test_people_without_write_access_change_nothing(tmp_path: Path) -> None:
    async with harness(tmp_path) as h:
        await h.deliver("workflow_run", failing_secret_scan())
        await h.drain()
        h.fake.set_permission(REPO, "tracy", "triage")
        events = h.capture()
        [before] = await h.runtime.store.list_incidents()
        mark = len(h.fake.requests)
        for command in ("/severity low", "/ic @tracy", "/ack", "/contained", "/fixed",
                        "/decision nothing", "/rootcause none", '/status impact="x" '
                        'mitigation="y" next="z"'):
            h.fake.person_comment(REPO, 1, command, login="tracy")
        # (Ticking the checklist edits the issue body, which GitHub itself allows only to
        # people with write access to an issue the app opened.)
        h.fake.person_add_label(REPO, 1, "severity:low", login="tracy")
        h.fake.person_assign(REPO, 1, ["tracy"], login="tracy")
        await h.deliver_all(events)
        [after] = await h.runtime.store.list_incidents()
        same = ("severity", "status", "roles", "milestones", "checklist_done", "timeline")
        assert {k: getattr(after, k) for k in same} == {k: getattr(before, k) for k in same}
        writes = [(r.method, r.path) for r in h.fake.requests[mark:] if r.method != "GET"]
        issue = f"/repos/{REPO}/issues/1"
        # At most: replies saying why, and the app putting its own labels and ticks back.
        assert {w for w in writes} <= {("POST", f"{issue}/comments"), ("PATCH", issue),
                                      ("POST", f"{issue}/labels"),
                                      ("DELETE", f"{issue}/labels/severity:low")}
        labels = h.fake.issue(REPO, 1).labels
        assert "severity:critical" in labels and "severity:low" not in labels


async def test_secrets_and_tokens_never_reach_logs_requests_or_records(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    fake = fake_with_config()
    fake.add_alert(REPO, "secret-scanning", {**secret_alert(
        "created", at="2026-11-27T09:00:00Z", state="open")["alert"],
        "secret": "ghp_TheLeakedSecretItselfMustNeverShow0000"})
    async with harness(tmp_path, fake=fake, env=notify_env()) as h:
        from watchkeeper.maintenance.reconcile import reconcile

        # The raw records, before any redaction in the log formatter: nothing to redact.
        await _story(h)
        fake.fail_next("POST", rf"/repos/{REPO}/issues/\d+/comments", 500)
        await h.deliver("workflow_run", failing_secret_scan(run_id=77, updated_at=(
            "2026-11-28T09:00:00Z")))
        h.clock.advance(7200)
        await h.drain()
        await reconcile(h.runtime, "p1", pause=0)
        fake.remove_installation(INSTALLATION)
        codeql = failing_secret_scan(run_id=78)  # a new failure: it needs GitHub at once
        codeql["workflow_run"].update(name="CodeQL", path=".github/workflows/codeql.yml")
        codeql["workflow"].update(name="CodeQL", path=".github/workflows/codeql.yml")
        await h.deliver("workflow_run", codeql)
        await h.drain()

        store = h.runtime.store
        rows = await store._call(lambda: store._conn.execute(  # type: ignore[attr-defined]
            "SELECT last_error FROM deliveries").fetchall())
        errors = " ".join(str(e) for (e,) in rows)
        incidents = " ".join(repr(i) for i in await store.list_incidents(open_only=False))
        sent = json.dumps([(r.path, r.query, r.json) for r in fake.requests])
        logs = caplog.text + "\n".join(str(r.__dict__) for r in caplog.records)
        secrets = {
            "webhook secret": SECRET,
            "private key": fake.private_key.splitlines()[1],
            "alerts token": ALERTS_TOKEN,
            "notification header": "pager-secret-header-value",
            "leaked secret": "ghp_TheLeakedSecretItselfMustNeverShow0000",
            **{f"token {n}": token for n, token in enumerate(fake.issued_tokens)},
            **{f"credential {n}": sent for n, sent in enumerate(sorted(fake.credentials))},
        }
        assert fake.issued_tokens and "DEAD LETTER" in logs and errors.strip()
        assert any(c.startswith("eyJ") for c in fake.credentials)  # JWTs were checked too
        for name, value in secrets.items():
            for where, text in (("logs", logs), ("requests", sent), ("errors", errors),
                                ("records", incidents)):
                assert value not in text, f"{name} found in {where}"


def test_hostile_pieces_are_detected_when_raw() -> None:
    """The scanner itself: raw pieces are caught, neutralised ones and code spans are not."""
    from watchkeeper.render.escape import code, neutralise

    raw = hostile("x")
    assert len(live_pieces(raw)) >= 9
    assert live_pieces(neutralise(raw, max_len=5000)) == []
    assert live_pieces(code(raw, max_len=5000)) == []
    assert live_pieces(copy.copy("<!-- watchkeeper:meta {} --> ok")) == []
