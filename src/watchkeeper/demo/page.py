"""``watchkeeper demo --serve``: a read-only local page over the simulated GitHub, showing
its issues and pull requests the way GitHub renders them (markdown with task lists and
tables, labels, comments, the files of a pull request, check runs), and a form that signs
and delivers a payload of your own to the server, then shows what Watchkeeper did."""

from __future__ import annotations

import asyncio
import hmac
import io
import json
import re
import secrets
from urllib.parse import parse_qs

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from watchkeeper.demo import html as h
from watchkeeper.demo import payloads
from watchkeeper.demo.markdown import renderer
from watchkeeper.demo.narrate import Narrator
from watchkeeper.demo.observe import changes, snapshot
from watchkeeper.demo.stage import NotSettled, Stage
from watchkeeper.demo.world import REPO
from watchkeeper.github.fake import Issue, Repo

MAX_PAYLOAD = 1024 * 1024
_EVENT = re.compile(r"[a-z_]{1,64}")
SAMPLE_RUN = 9100


async def _form(request: Request) -> dict[str, str] | None:
    """The page's own form (URL-encoded, at most MAX_PAYLOAD bytes); None for anything else.
    Read here rather than by Starlette, whose form parser needs another package."""
    if request.headers.get("content-type", "").split(";")[0].strip() != \
            "application/x-www-form-urlencoded":
        return None
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_PAYLOAD:
            return None
    try:
        fields = parse_qs(body.decode("utf-8"), keep_blank_values=True, max_num_fields=5)
    except (UnicodeDecodeError, ValueError):
        return None
    return {key: values[0] for key, values in fields.items()}


class DemoPage:
    def __init__(self, stage: Stage) -> None:
        self.stage = stage
        self.fake = stage.fake
        self.token = secrets.token_urlsafe(24)  # the form's anti-forgery token
        self._lock = asyncio.Lock()
        web = re.escape(self.fake.world.web_url)
        self._github_link = re.compile(rf"{web}/([^/]+)/([^/]+)/(issues|pull)/(\d+)(#[\w-]+)?")
        self.markdown = renderer(self._local_link)

    def app(self) -> Starlette:
        return Starlette(routes=[
            Route("/", self.index, methods=["GET"]),
            Route("/{owner}/{name}/issues/{number:int}", self.issue, methods=["GET"]),
            Route("/{owner}/{name}/pull/{number:int}", self.issue, methods=["GET"]),
            Route("/send", self.send, methods=["POST"]),
        ])

    # --- building blocks --------------------------------------------------------------

    def _local_link(self, href: str) -> str | None:
        match = self._github_link.fullmatch(href)
        if match is None or f"{match[1]}/{match[2]}".lower() not in self.fake.world.repos:
            return None
        return f"/{match[1]}/{match[2]}/{match[3]}/{match[4]}{match[5] or ''}"

    @staticmethod
    def _html(body: str, status: int = 200) -> HTMLResponse:
        return HTMLResponse(body, status_code=status, headers=h.HEADERS)

    def _labels(self, r: Repo, names: list[str]) -> str:
        return "".join(h.label(n, (lb.color if (lb := r.label(n)) else "ededed")) for n in names)

    @staticmethod
    def _state(i: Issue) -> str:
        if i.pull is not None and i.pull.merged:
            return "merged"
        return "not_planned" if i.state_reason == "not_planned" else i.state

    def _path(self, r: Repo, i: Issue) -> str:
        return f"/{r.full_name}/{'pull' if i.pull else 'issues'}/{i.number}"

    # --- views ------------------------------------------------------------------------

    async def index(self, request: Request) -> Response:
        server = self.stage.server_url
        parts = [f"<h1>{h.esc('Simulated GitHub')}</h1>",
                 f"<p class=muted>The Watchkeeper server runs at {h.link(server, server)}: "
                 f"webhooks to <code>{h.esc(self.stage.webhook_path)}</code>; "
                 f"{h.link(server + '/readyz', '/readyz')}, "
                 f"{h.link(server + '/metrics', '/metrics')}.</p>"]
        for r in self.fake.world.repos.values():
            for kind, items in (("Issues", [i for i in r.issues.values() if i.pull is None]),
                                ("Pull requests", [i for i in r.issues.values() if i.pull])):
                cells = [(h.state(self._state(i)), h.link(self._path(r, i), i.title)
                          + f" <span class=muted>#{i.number} by {h.esc(i.user.login)}</span>",
                          self._labels(r, i.labels), f"{len(i.comments)} comments")
                         for i in sorted(items, key=lambda x: -x.number)]
                parts.append(h.box(f"{r.full_name} · {kind}", h.rows(cells)))
        parts.append(self._send_form())
        parts.append(self._deliveries())
        return self._html(h.page("Watchkeeper demo", *parts))

    async def issue(self, request: Request) -> Response:
        owner, name = request.path_params["owner"], request.path_params["name"]
        r = self.fake.world.repos.get(f"{owner}/{name}".lower())
        i = r.issues.get(request.path_params["number"]) if r else None
        if r is None or i is None:
            return self._html(h.page("Not found", "<p>Not found.</p>"), 404)
        if request.url.path != self._path(r, i):
            return RedirectResponse(self._path(r, i), status_code=307)
        head = (f"<h1>{h.esc(i.title)} <span class=muted>#{i.number}</span></h1>"
                f"<p>{h.state(self._state(i))} <b>{h.esc(i.user.login)}</b> opened this "
                f"{'pull request' if i.pull else 'issue'} · {len(i.comments)} comments</p>")
        side = [f"<p><b>Labels</b> {self._labels(r, i.labels) or 'none'}</p>"]
        if i.assignees:
            side.append(f"<p><b>Assignees</b> {h.esc(', '.join(i.assignees))}</p>")
        if i.pull is not None:
            p = i.pull
            side.append(f"<p><b>Branches</b> <code>{h.esc(p.head)}</code> → "
                        f"<code>{h.esc(p.base)}</code></p>")
            if p.requested_reviewers:
                side.append(f"<p><b>Reviewers</b> {h.esc(', '.join(p.requested_reviewers))}</p>")
        parts = [head, "".join(side),
                 h.box(f"{i.user.login} wrote", self._md(i.body or "*No description.*"))]
        for c in i.comments:
            title = f"<span id=\"issuecomment-{c.id}\">{h.esc(c.user.login)} commented " \
                    f"<span class=muted>{h.esc(c.created_at.strftime('%Y-%m-%d %H:%M UTC'))}" \
                    "</span></span>"
            parts.append(h.box(title, self._md(c.body), raw_title=True))
        if i.pull is not None:
            parts.append(self._checks(r, i))
            parts.extend(self._files(r, i))
        return self._html(h.page(f"{i.title} · #{i.number}", *parts))

    def _md(self, text: str) -> str:
        return f"<div class=markdown>{self.markdown(text)}</div>"

    def _checks(self, r: Repo, i: Issue) -> str:
        assert i.pull is not None
        sha = r.branches.get(i.pull.head, i.pull.head_sha)
        runs = [run for run in r.check_runs.values() if run.get("head_sha") == sha]
        cells = [(h.esc(run.get("name", "check")),
                  h.esc(run.get("conclusion") or run.get("status") or ""),
                  h.esc(str((run.get("output") or {}).get("title", ""))))
                 for run in runs]
        return h.box(f"Checks on {sha[:12]}", h.rows(cells))

    def _files(self, r: Repo, i: Issue) -> list[str]:
        assert i.pull is not None
        before = r.commits.get(i.pull.base_sha, {})
        after = r.files(i.pull.head) or r.commits.get(i.pull.head_sha, {})
        out = []
        for path in sorted(set(before) | set(after)):
            old, new = before.get(path), after.get(path)
            if old == new:
                continue
            what = "added" if old is None else "removed" if new is None else "modified"
            if new is None:
                shown = "<p class=muted>Removed.</p>"
            elif path.endswith(".md"):
                shown = self._md(new)
            else:
                shown = f"<pre class=plain>{h.esc(new)}</pre>"
            out.append(h.box(f"{path} ({what})", shown))
        return out or [h.box("Files changed", "<p class=muted>None.</p>")]

    # --- sending a payload ------------------------------------------------------------

    def _sample(self) -> str:
        r = self.fake.repo(REPO)
        payload = payloads.workflow_run(
            self.fake, REPO, run_id=SAMPLE_RUN, name="CodeQL",
            path=".github/workflows/codeql.yml", conclusion="failure", branch=r.default_branch,
            sha=r.branches[r.default_branch], actor="dave")
        return json.dumps(payload, indent=2)

    def _send_form(self, event: str = "workflow_run", body: str | None = None) -> str:
        return h.box("Send a webhook to the server", (
            "<form method=post action=\"/send\">"
            f"<input type=hidden name=token value=\"{h.esc(self.token)}\">"
            "<p><label>Event (<code>X-GitHub-Event</code>) "
            f"<input type=text name=event value=\"{h.esc(event)}\"></label></p>"
            "<p><label>Payload (JSON; signed with the webhook secret and delivered as GitHub "
            "would)<br><textarea name=payload rows=16>"
            f"{h.esc(body if body is not None else self._sample())}</textarea></label></p>"
            "<p><button type=submit>Sign and deliver</button> <span class=muted>The sample: a "
            "CodeQL run failing on the default branch.</span></p></form>"))

    def _deliveries(self) -> str:
        cells = [(h.esc(s.event + (f".{s.action}" if s.action else "")),
                  h.esc(s.sender or ""), h.esc(s.status or "failed"),
                  f"<code>{h.esc(s.delivery_id)}</code>")
                 for s in reversed(self.stage.outbox.sent[-30:])]
        return h.box("Recent deliveries (newest first)", h.rows(cells))

    async def send(self, request: Request) -> Response:
        form = await _form(request)
        if form is None:
            return self._html(h.page("Refused", "<p>Send the form on the page.</p>"), 400)
        token, event, text = (form.get(k, "") for k in ("token", "event", "payload"))
        if not hmac.compare_digest(token.encode(), self.token.encode()):
            return self._html(h.page("Refused", "<p>This form is stale: reload the page.</p>"),
                              403)
        problem = None
        if not _EVENT.fullmatch(event):
            problem = "The event name is lowercase letters and underscores, like workflow_run."
        else:
            try:
                parsed = json.loads(text)
            except ValueError as exc:
                problem = f"The payload is not JSON: {exc}"
            else:
                if not isinstance(parsed, dict):
                    problem = "The payload must be a JSON object."
        if problem is not None:
            return self._html(h.page("Not sent", f"<p><b>Not sent.</b> {h.esc(problem)}</p>",
                                     self._send_form(event, text)), 400)
        async with self._lock:
            before = await snapshot(self.stage)
            sent = await self.stage.outbox.post(event, text.encode("utf-8"))
            try:
                await self.stage.settle()
                note = ""
            except NotSettled as exc:
                note = f"<p><b>Still processing:</b> {h.esc(exc)}</p>"
            report = io.StringIO()
            Narrator(report).changes(await changes(self.stage, before))
        result = (f"<p>Delivered <code>{h.esc(event)}</code> as "
                  f"<code>{h.esc(sent.delivery_id)}</code>: the server answered "
                  f"<b>{h.esc(sent.status or 'nothing')}</b> {h.esc(sent.answer)}</p>{note}")
        return self._html(h.page("Sent", h.box("Delivery", result),
                                 h.box("What followed", "<pre class=plain>"
                                       f"{h.esc(report.getvalue() or 'Nothing.')}</pre>"),
                                 "<p><a href=\"/\">Back to the simulated GitHub</a></p>"))
