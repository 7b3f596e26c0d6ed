"""Bad and hostile input at the webhook endpoint: whatever arrives — forged or missing
signatures, other algorithms, broken, truncated or absurdly nested JSON, huge bodies, odd
content types, unknown events — gets a 4xx (or 202 for a well-signed delivery that is merely
irrelevant), never a 5xx, and the server keeps serving. Well-signed payloads that lack what
the app reads are dead-lettered with a clear error; the worker never crashes or spins on them.
"""

from __future__ import annotations

import asyncio
import copy
import hashlib
import hmac
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
from benchmarks.storm_common import FakeServer, ServeProcess, free_port, make_fake, serve_env
from benchmarks.storm_common import sign as sign_with
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.support import (
    FIXTURES,
    INSTALLATION,
    REPO,
    SECRET,
    Harness,
    failing_secret_scan,
    harness,
    sign,
)

WEBHOOK = "/api/github/webhooks"
EVENTS = sorted(p.name for p in (FIXTURES / "webhooks").iterdir() if p.is_dir())


@contextmanager
def running(tmp_path: Path, **options: Any) -> Iterator[tuple[Harness, Callable[..., Any]]]:
    """A harness on its own event loop, for hypothesis tests (which are synchronous)."""
    loop = asyncio.new_event_loop()
    manager = harness(tmp_path, **options)
    h = loop.run_until_complete(manager.__aenter__())
    try:
        yield h, loop.run_until_complete
    finally:
        loop.run_until_complete(manager.__aexit__(None, None, None))
        loop.close()


async def post(h: Harness, body: bytes, headers: dict[str, Any]) -> httpx.Response:
    return await h.client.post(WEBHOOK, content=body, headers=headers)


def headers_for(body: bytes, event: str = "workflow_run", delivery: str = "d-1",
                signature: str | None = None) -> dict[str, str]:
    return {"X-GitHub-Event": event, "X-GitHub-Delivery": delivery,
            "X-Hub-Signature-256": signature if signature is not None else sign(body),
            "Content-Type": "application/json"}


# --- the endpoint --------------------------------------------------------------------

BODIES = st.one_of(
    st.binary(max_size=300),
    st.text(max_size=200).map(str.encode),
    st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=20),
                 lambda inner: st.lists(inner, max_size=4)
                 | st.dictionaries(st.text(max_size=8), inner, max_size=4),
                 max_leaves=20).map(lambda v: json.dumps(v).encode()),
    st.sampled_from([b"", b"{", b'{"action": "completed"', b"[]", b"null", b"\xff\xfe{}",
                     b'{"a": NaN}', b"\x00" * 10, json.dumps(failing_secret_scan()).encode()[:-7]]),
)


def _signature(kind: str, body: bytes) -> str | None:
    digest = {"sha1": hashlib.sha1, "sha512": hashlib.sha512, "sha256": hashlib.sha256}
    name, _, variant = kind.partition(":")
    if name == "missing":
        return None
    if name == "wrong-secret":
        return "sha256=" + hmac.new(b"not the secret", body, hashlib.sha256).hexdigest()
    mac = hmac.new(SECRET.encode(), body, digest[name]).hexdigest()
    if variant == "upper":
        return f"{name}={mac.upper()}"
    if variant == "bare":
        return mac
    if variant == "truncated":
        return f"{name}={mac[:-2]}"
    return f"{name}={mac}"


SIGNATURES = st.sampled_from(["missing", "wrong-secret", "sha1", "sha512", "sha256",
                              "sha256:upper", "sha256:bare", "sha256:truncated", "sha1:bare"])
EVENT_NAMES = st.sampled_from([*EVENTS, "", "unknown_event", "Workflow_Run", "a" * 100,
                               "workflow run", "../../etc", "pull_request\r\nX-Evil: 1"])
CONTENT_TYPES = st.sampled_from(["application/json", "application/x-www-form-urlencoded",
                                 "text/plain", "", "multipart/form-data; boundary=x",
                                 "application/json; charset=utf-16"])
DELIVERY_IDS = st.sampled_from(["", "d-1", "~notify:abc", "x" * 200, "ok-id", "ünïcode",
                                "a b", "72d3162e-cc78-11e3-81ab-4c9367dc0958"])


def test_any_request_gets_a_4xx_or_202_never_a_5xx(tmp_path: Path) -> None:
    with running(tmp_path) as (h, run):
        seen: set[int] = set()

        @settings(max_examples=400, deadline=None,
                  suppress_health_check=[HealthCheck.too_slow])
        @given(body=BODIES, signature=SIGNATURES, event=EVENT_NAMES, ctype=CONTENT_TYPES,
               delivery=DELIVERY_IDS)
        def check(body: bytes, signature: str, event: str, ctype: str, delivery: str) -> None:
            headers: dict[str, Any] = {"X-GitHub-Event": event.replace("\r\n", " "),
                                       "Content-Type": ctype,
                                       "X-GitHub-Delivery": delivery.encode("utf-8")}
            sig = _signature(signature, body)
            if sig is not None:
                headers["X-Hub-Signature-256"] = sig
            response = run(post(h, body, headers))
            seen.add(response.status_code)
            assert response.status_code in (200, 202, 400, 401, 413), response.text
            if response.status_code in (200, 202):  # only a correct signature gets in
                assert signature in ("sha256", "sha256:upper")
                assert isinstance(json.loads(body), dict)
            # Whatever was stored is processed without bringing the worker down.
            run(h.drain())
            assert run(h.client.get("/healthz")).status_code == 200

        check()
        assert {401, 400} <= seen


def test_absurd_nesting_and_sizes_are_refused_cleanly(tmp_path: Path) -> None:
    with running(tmp_path) as (h, run):
        deep_list = b"[" * 100_000 + b"]" * 100_000
        deep_object = b'{"a":' * 100_000 + b"1" + b"}" * 100_000
        truncated_deep = b'{"a":' * 100_000
        for n, body in enumerate((deep_list, deep_object, truncated_deep)):
            response = run(post(h, body, headers_for(body, delivery=f"deep-{n}")))
            assert response.status_code == 400, response.text
        # Deep but valid below the parser's limit: stored, then dead-lettered or ignored.
        nested = json.dumps({"action": "completed", "x": json.loads("[" * 500 + "]" * 500)})
        response = run(post(h, nested.encode(), headers_for(nested.encode(),
                                                            delivery="deep-ok")))
        assert response.status_code == 202
        run(h.drain())
        huge = b'{"a": "' + b"x" * (26 * 1024 * 1024) + b'"}'
        response = run(post(h, huge, headers_for(huge, delivery="huge")))
        assert response.status_code == 413

        async def streamed() -> httpx.Response:  # no Content-Length: cut while reading
            async def chunks() -> Any:
                for _ in range(27):
                    yield b"x" * (1024 * 1024)
            return await h.client.post(WEBHOOK, content=chunks(), headers={
                "X-GitHub-Event": "push", "X-GitHub-Delivery": "stream",
                "X-Hub-Signature-256": "sha256=" + "0" * 64})
        assert run(streamed()).status_code == 413
        assert run(h.client.get("/healthz")).status_code == 200


# --- well-signed payloads missing what the app reads --------------------------------


def _fixtures() -> list[tuple[str, dict[str, Any]]]:
    """Every example payload, pointed at our repository and installation (as deliveries to
    the app would be), issues and comments at the incident issue #1."""
    found = []
    for path in sorted((FIXTURES / "webhooks").glob("*/*.json")):
        payload = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(payload, dict):
            continue
        payload["installation"] = {"id": INSTALLATION}
        if isinstance(payload.get("repository"), dict):
            payload["repository"].update(full_name=REPO, name=REPO.split("/")[1])
            if isinstance(payload["repository"].get("owner"), dict):
                payload["repository"]["owner"]["login"] = REPO.split("/")[0]
        if isinstance(payload.get("issue"), dict):
            payload["issue"]["number"] = 1
        found.append((path.parent.name, payload))
    return found


FIXTURE_PAYLOADS = _fixtures()


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out: list[tuple[Any, ...]] = []
    if isinstance(value, dict):
        for key, item in value.items():
            out.append((*prefix, key))
            out.extend(_paths(item, (*prefix, key)))
    elif isinstance(value, list):
        for i, item in enumerate(value[:3]):
            out.append((*prefix, i))
            out.extend(_paths(item, (*prefix, i)))
    return out


WRONG = st.sampled_from([None, "", 0, -1, 1.5, True, [], {}, "x" * 5000, [None], {"a": 1},
                         "2026-13-45T99:99:99Z", "@evil/team #1 <script>", 2**70])


@st.composite
def broken_payload(draw: Any) -> tuple[str, dict[str, Any]]:
    event, payload = draw(st.sampled_from(FIXTURE_PAYLOADS))
    payload = copy.deepcopy(payload)
    for _ in range(draw(st.integers(1, 3))):
        paths = _paths(payload)
        if not paths:
            break
        # Mostly what handlers read first: top-level objects and their direct fields.
        near = [p for p in paths if len(p) <= 2]
        path = draw(st.sampled_from(near if near and draw(st.booleans()) else paths))
        parent: Any = payload
        for part in path[:-1]:
            parent = parent[part]
        if isinstance(parent, dict) and draw(st.booleans()):
            del parent[path[-1]]
        else:
            parent[path[-1]] = copy.deepcopy(draw(WRONG))
    return event, payload


def test_broken_payloads_are_processed_or_dead_lettered_never_retried(tmp_path: Path) -> None:
    with running(tmp_path) as (h, run):
        run(h.deliver("workflow_run", failing_secret_scan()))  # incident #1 to act on
        run(h.drain())
        counter = iter(range(10**9))
        errors: list[str] = []

        @settings(max_examples=500, deadline=None,
                  suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
        @given(broken_payload())
        def check(case: tuple[str, dict[str, Any]]) -> None:
            event, payload = case
            delivery = f"broken-{next(counter)}"
            response = run(h.deliver(event, payload, delivery_id=delivery))
            assert response.status_code in (200, 202), response.text
            run(h.drain())
            state = run(h.runtime.store.delivery_state(delivery))
            assert state is not None
            # Done, or dead at once with a clear reason; never waiting to be retried.
            assert state.state in ("done", "dead"), (event, state)
            if state.state == "dead":
                assert state.attempts == 1
                errors.append(state.last_error or "")
            assert run(h.client.get("/healthz")).status_code == 200

        check()
        # Refused for a reason a person can act on (not a retry of a generic exception).
        assert all(e.startswith(("PermanentError: ", "NotFoundError: ")) for e in errors), \
            sorted(set(errors))[:10]

        # And a plain case, spelled out.
        payload = failing_secret_scan()
        del payload["workflow_run"]["id"]
        run(h.deliver("workflow_run", payload, delivery_id="no-run-id"))
        run(h.drain())
        state = run(h.runtime.store.delivery_state("no-run-id"))
        assert state is not None and state.state == "dead" and state.attempts == 1
        assert state.last_error == ("PermanentError: malformed workflow_run payload: "
                                    "'id' is missing or not an integer")


# --- a real server ---------------------------------------------------------------------


async def test_a_real_server_survives_and_keeps_serving(tmp_path: Path) -> None:
    port = free_port()
    fake = make_fake(port, [REPO])
    secret = "real-server-secret"
    env = serve_env(fake, database_url=f"sqlite:///{tmp_path / 'wk.db'}", secret=secret)
    with FakeServer(fake, port):
        server = ServeProcess(env, free_port(), tmp_path / "serve.log")
        await server.start()
        try:
            async with httpx.AsyncClient(base_url=server.url, timeout=30) as client:
                async def hook(body: Any, **headers: str) -> int:
                    return (await client.post(WEBHOOK, content=body, headers=headers)).status_code

                deep = b"[" * 100_000 + b"]" * 100_000
                statuses = [
                    await hook(deep, **{"X-GitHub-Event": "push", "X-GitHub-Delivery": "deep",
                                        "X-Hub-Signature-256": sign_with(secret, deep)}),
                    await hook(b"x" * (26 * 1024 * 1024), **{"X-Hub-Signature-256": "sha256=0"}),
                    await hook(b"{}", **{"X-Hub-Signature-256": "sha1=" + "0" * 40}),
                    await hook(b"{}", **{"X-Hub-Signature-256": "sha256=" + "0" * 64,
                                         "X-Large": "v" * 60_000}),
                ]
                assert statuses[:3] == [400, 413, 401] and 400 <= statuses[3] < 500
                for raw in (b"POST /api/github/webhooks HTTP/1.1\r\nHost: x\r\n"
                            b"Content-Length: abc\r\n\r\n",
                            b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + b"\x00" * 64,
                            b"GARBAGE\r\n\r\n"):
                    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
                    writer.write(raw)
                    await writer.drain()
                    answer = await asyncio.wait_for(reader.read(100), 10)
                    writer.close()
                    assert answer == b"" or answer.startswith(b"HTTP/1.1 4")
                assert (await client.get("/healthz")).status_code == 200
                body = json.dumps(failing_secret_scan()).encode()
                assert await hook(body, **{"X-GitHub-Event": "workflow_run",
                                           "X-GitHub-Delivery": "after-all",
                                           "X-Hub-Signature-256": sign_with(secret, body),
                                           "Content-Type": "application/json"}) == 202
            await server.wait_idle(timeout=30)
        finally:
            await server.stop()
    # A clean stop (uvicorn re-raises the SIGTERM it handled), with no crash on the way.
    assert server.proc is not None and server.proc.returncode in (0, -15)
    assert "Traceback" not in (tmp_path / "serve.log").read_text()
    assert len(fake.issues(REPO)) == 1
