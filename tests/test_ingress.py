"""The webhook endpoint: signatures, hostile input, size cap, dedup, health and readiness."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from watchkeeper.clock import FrozenClock
from watchkeeper.ingress import MAX_BODY_BYTES, Ingress, sign, signature_matches
from watchkeeper.server import build_app
from watchkeeper.settings import Settings
from watchkeeper.store.base import Delivery
from watchkeeper.store.sqlite import SqliteStore

FIXTURES = Path(__file__).parent / "fixtures"
SECRET = "It's a Secret to Everybody"
OLD_SECRET = "previous-secret-being-rotated-out"
URL = "/api/github/webhooks"
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
PAYLOAD = (FIXTURES / "webhooks/workflow_run/completed.payload.json").read_bytes()


def settings() -> Settings:
    return Settings(app_id=1, private_key="unused here", webhook_secrets=(SECRET, OLD_SECRET))


def headers(body: bytes, *, event: str = "workflow_run", delivery: str | None = None,
            secret: str = SECRET) -> dict[str, str]:
    return {
        "X-GitHub-Event": event,
        "X-GitHub-Delivery": delivery or str(uuid.uuid4()),
        "X-Hub-Signature-256": sign(secret, body),
        "Content-Type": "application/json",
    }


class Processed:
    def __init__(self) -> None:
        self.ids: list[str] = []

    async def __call__(self, delivery: Delivery) -> None:
        self.ids.append(delivery.delivery_id)


@pytest.fixture
async def store() -> AsyncIterator[SqliteStore]:
    s = SqliteStore(":memory:")
    yield s
    await s.close()


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(T0)


@pytest.fixture
def processed() -> Processed:
    return Processed()


@pytest.fixture
def app(store: SqliteStore, clock: FrozenClock, processed: Processed) -> Starlette:
    return build_app(settings(), store, processed, clock, close_store=False)


@pytest.fixture
async def client(app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://wk.test") as c:
        yield c


# --- signatures ------------------------------------------------------------------------

def test_signature_vectors() -> None:
    vectors = json.loads((FIXTURES / "signatures.json").read_text(encoding="utf-8"))
    assert len(vectors) == 5
    for v in vectors:
        body = v["payload"].encode("utf-8")
        assert sign(v["secret"], body) == v["signature_sha256"]
        assert signature_matches([v["secret"].encode()], body, v["signature_sha256"])
        assert signature_matches([v["secret"].encode()], body, v["signature_sha256"].upper()
                                 .replace("SHA256=", "sha256="))
        tampered = v["signature_sha256"][:-1] + ("0" if v["signature_sha256"][-1] != "0" else "1")
        assert not signature_matches([v["secret"].encode()], body, tampered)
        assert not signature_matches([b"wrong"], body, v["signature_sha256"])
        assert not signature_matches([v["secret"].encode()], body + b" ", v["signature_sha256"])


@pytest.mark.parametrize("header", [
    None,
    "",
    "757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17",  # no prefix
    "sha1=01dc10d0c83e72ed246219cdd91669667fe2ca59",  # SHA-1 is never a fallback
    "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e1",  # short
    "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17ff",  # long
    "sha256=zz7107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17",  # not hex
    "sha256=\u00e9" * 3,
])
def test_malformed_signature_headers_never_match(header: str | None) -> None:
    assert not signature_matches([SECRET.encode()], b"Hello, World!", header)


async def test_signed_delivery_is_stored_and_answered_202(
    client: httpx.AsyncClient, store: SqliteStore, clock: FrozenClock
) -> None:
    response = await client.post(URL, content=PAYLOAD, headers=headers(PAYLOAD, delivery="abc-1"))
    assert (response.status_code, response.text) == (202, "accepted")
    claimed = await store.claim("t", clock.now(), 60)
    assert claimed == Delivery("abc-1", "workflow_run", "completed", PAYLOAD, T0, attempts=1)


async def test_any_configured_secret_verifies(client: httpx.AsyncClient) -> None:
    response = await client.post(URL, content=PAYLOAD, headers=headers(PAYLOAD, secret=OLD_SECRET))
    assert response.status_code == 202


@pytest.mark.parametrize(("change", "text"), [
    ({"X-Hub-Signature-256": None}, "missing X-Hub-Signature-256"),
    ({"X-Hub-Signature-256": "sha256=" + "0" * 64}, "signature does not match"),
    ({"X-Hub-Signature-256": None, "X-Hub-Signature": "sha1=" + "0" * 40},
     "missing X-Hub-Signature-256"),
    ({"X-Hub-Signature-256": sign("another-secret", PAYLOAD)}, "signature does not match"),
])
async def test_unsigned_or_forged_deliveries_get_401_and_are_not_stored(
    client: httpx.AsyncClient, store: SqliteStore, change: dict[str, Any], text: str
) -> None:
    h: dict[str, Any] = {**headers(PAYLOAD), **change}
    response = await client.post(URL, content=PAYLOAD,
                                 headers={k: v for k, v in h.items() if v is not None})
    assert (response.status_code, response.text) == (401, text)
    assert SECRET not in response.text
    assert (await store.queue_stats(T0))["pending"] == 0


# --- headers and body shape ---------------------------------------------------------------

@pytest.mark.parametrize(("change", "text"), [
    ({"X-GitHub-Event": None}, "missing or malformed X-GitHub-Event"),
    ({"X-GitHub-Event": "Workflow Run"}, "missing or malformed X-GitHub-Event"),
    ({"X-GitHub-Delivery": None}, "missing or malformed X-GitHub-Delivery"),
    ({"X-GitHub-Delivery": "a" * 129}, "missing or malformed X-GitHub-Delivery"),
    ({"X-GitHub-Delivery": "../../etc/passwd"}, "missing or malformed X-GitHub-Delivery"),
    ({"X-GitHub-Delivery": "id with spaces"}, "missing or malformed X-GitHub-Delivery"),
])
async def test_bad_github_headers_get_400(
    client: httpx.AsyncClient, store: SqliteStore, change: dict[str, Any], text: str
) -> None:
    h: dict[str, Any] = {**headers(PAYLOAD), **change}
    response = await client.post(URL, content=PAYLOAD,
                                 headers={k: v for k, v in h.items() if v is not None})
    assert (response.status_code, response.text) == (400, text)
    assert (await store.queue_stats(T0))["pending"] == 0


@pytest.mark.parametrize(("body", "text"), [
    (b"not json", "body is not valid JSON"),
    (b"", "body is not valid JSON"),
    (PAYLOAD[: len(PAYLOAD) // 2], "body is not valid JSON"),  # truncated
    (b'{"action": "completed",}', "body is not valid JSON"),
    (b"[1, 2, 3]", "body is not a JSON object"),
    (b'"a string"', "body is not a JSON object"),
    (b"null", "body is not a JSON object"),
    (b"[" * 100_000 + b"]" * 100_000, "body is not valid JSON"),  # nesting past any parser
    (b"[" * 100_000, "body is not valid JSON"),
])
async def test_signed_bodies_that_are_not_json_objects_get_400(
    client: httpx.AsyncClient, store: SqliteStore, body: bytes, text: str
) -> None:
    response = await client.post(URL, content=body, headers=headers(body))
    assert (response.status_code, response.text) == (400, text)
    assert (await store.queue_stats(T0))["pending"] == 0


async def test_json_quirks_that_python_reads_are_accepted(
    client: httpx.AsyncClient, store: SqliteStore
) -> None:
    # The fast parser refuses these; the worker's json.loads reads them, so they are kept.
    for body in (b'{"title": "\\ud800 half an emoji"}', b'\xef\xbb\xbf{"zen": "BOM"}'):
        response = await client.post(URL, content=body, headers=headers(body, event="ping"))
        assert response.status_code == 202
    assert (await store.queue_stats(T0))["pending"] == 2


async def test_action_is_recorded_only_when_it_is_a_short_string(
    client: httpx.AsyncClient, store: SqliteStore, clock: FrozenClock
) -> None:
    for n, action in enumerate(["created", 5, "x" * 65]):
        body = json.dumps({"action": action}).encode()
        await client.post(URL, content=body, headers=headers(body, delivery=f"d-{n}"))
    actions = []
    while (d := await store.claim("t", clock.now(), 60)) is not None:
        actions.append(d.action)
    assert actions == ["created", None, None]


# --- redelivery -----------------------------------------------------------------------------

async def test_a_known_delivery_id_is_answered_200_and_processed_once(
    app: Starlette, client: httpx.AsyncClient, processed: Processed
) -> None:
    h = headers(PAYLOAD, delivery="72d3162e-cc78-11e3-81ab-4c9367dc0958")
    first = await client.post(URL, content=PAYLOAD, headers=h)
    again = await client.post(URL, content=PAYLOAD, headers=h)
    assert (first.status_code, again.status_code) == (202, 200)
    assert again.text == "already received"
    assert await app.state.worker.run_once() == 1
    third = await client.post(URL, content=PAYLOAD, headers=h)  # after processing, too
    assert third.status_code == 200
    assert await app.state.worker.run_once() == 0
    assert processed.ids == ["72d3162e-cc78-11e3-81ab-4c9367dc0958"]


# --- size cap ---------------------------------------------------------------------------------

class Chunks:
    """An endless request body; counts how much of it the server pulled."""

    def __init__(self, size: int, limit: int) -> None:
        self.size, self.limit, self.pulled = size, limit, 0

    async def __aiter__(self) -> AsyncIterator[bytes]:
        while self.pulled < self.limit:
            self.pulled += 1
            yield b"{" + b" " * (self.size - 1) if self.pulled == 1 else b" " * self.size


async def test_oversized_stream_is_cut_off_while_reading(
    client: httpx.AsyncClient, store: SqliteStore
) -> None:
    mib = 1024 * 1024
    body = Chunks(mib, limit=64)
    h = headers(b"{}")  # the signature cannot be checked before the end: never reached
    response = await client.post(URL, content=body, headers=h)  # chunked, no Content-Length
    assert (response.status_code, response.text) == (413, "payload too large")
    assert body.pulled == MAX_BODY_BYTES // mib + 1  # stopped at the first byte past 25 MiB
    assert (await store.queue_stats(T0))["pending"] == 0


async def test_declared_length_over_the_cap_is_refused_before_reading(
    store: SqliteStore, clock: FrozenClock
) -> None:
    class Untouchable:
        async def __aiter__(self) -> AsyncIterator[bytes]:
            raise AssertionError("the body must not be read")
            yield b""  # pragma: no cover

    ingress = Ingress(store, [SECRET], clock)
    h = {k.lower(): v for k, v in headers(b"{}").items()}
    h["content-length"] = str(MAX_BODY_BYTES + 1)
    result = await ingress.handle(h, Untouchable())
    assert (result.status, result.message) == (413, "payload too large")


async def test_a_body_at_the_cap_is_read_in_full(store: SqliteStore, clock: FrozenClock) -> None:
    ingress = Ingress(store, [SECRET], clock, max_bytes=1000)
    body = b'{"a":"' + b"x" * 992 + b'"}'
    assert len(body) == 1000

    async def chunks() -> AsyncIterator[bytes]:
        for i in range(0, len(body), 300):
            yield body[i:i + 300]

    h = {k.lower(): v for k, v in headers(body, event="ping").items()}
    assert (await ingress.handle(h, chunks())).status == 202
    h = {k.lower(): v for k, v in headers(body + b" ", event="ping").items()}

    async def one_more() -> AsyncIterator[bytes]:
        yield body + b" "

    assert (await ingress.handle(h, one_more())).status == 413


# --- storage trouble and notifications ---------------------------------------------------------

async def test_store_failure_answers_503_so_github_records_a_failed_delivery(
    clock: FrozenClock,
) -> None:
    class BrokenStore:
        async def enqueue(self, delivery: Delivery) -> bool:
            raise OSError("disk full")

    ingress = Ingress(BrokenStore(), [SECRET], clock)  # type: ignore[arg-type]
    h = {k.lower(): v for k, v in headers(PAYLOAD).items()}

    async def body() -> AsyncIterator[bytes]:
        yield PAYLOAD

    result = await ingress.handle(h, body())
    assert (result.status, result.message) == (503, "storage unavailable")


async def test_the_worker_is_notified_after_each_stored_delivery(
    store: SqliteStore, clock: FrozenClock
) -> None:
    calls: list[int] = []
    ingress = Ingress(store, [SECRET], clock, on_stored=lambda: calls.append(1))
    h = {k.lower(): v for k, v in headers(PAYLOAD, delivery="n-1").items()}

    async def body() -> AsyncIterator[bytes]:
        yield PAYLOAD

    assert (await ingress.handle(h, body())).status == 202
    assert (await ingress.handle(h, body())).status == 200
    assert calls == [1]


def test_an_ingress_without_secrets_is_refused(store: SqliteStore, clock: FrozenClock) -> None:
    with pytest.raises(ValueError, match="at least one webhook secret"):
        Ingress(store, [], clock)


# --- health and readiness -------------------------------------------------------------------

async def test_healthz(client: httpx.AsyncClient) -> None:
    response = await client.get("/healthz")
    assert (response.status_code, response.text) == (200, "ok")


async def test_healthz_fails_when_the_store_is_unreachable(clock: FrozenClock) -> None:
    class DownStore:
        async def ping(self) -> bool:
            raise OSError("no such file")

    app = build_app(settings(), DownStore(), Processed(), clock, run_worker=False,  # type: ignore[arg-type]
                    close_store=False)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url="http://wk.test") as c:
        assert (await c.get("/healthz")).status_code == 503
        ready = await c.get("/readyz")
        assert (ready.status_code, ready.json()) == (
            503, {"ready": False, "store": False, "worker": "not run here"})


async def test_readyz_follows_the_worker(
    app: Starlette, client: httpx.AsyncClient, store: SqliteStore, clock: FrozenClock
) -> None:
    stopped = await client.get("/readyz")
    assert (stopped.status_code, stopped.json()["worker"]) == (503, "stopped")
    async with app.router.lifespan_context(app):
        running = await client.get("/readyz")
        assert running.status_code == 200
        assert running.json() == {
            "ready": True, "store": True, "worker": "running",
            "queue": {"pending": 0.0, "due": 0.0, "dead": 0.0,
                      "oldest_age_seconds": 0.0, "oldest_due_seconds": 0.0},
        }


async def test_readyz_reports_a_stuck_queue(
    app: Starlette, client: httpx.AsyncClient, store: SqliteStore, clock: FrozenClock
) -> None:
    worker = app.state.worker
    worker.running = True  # as if the loop were alive but wedged inside a processor
    worker.last_progress = clock.now()
    await store.enqueue(Delivery("old", "ping", None, b"{}", clock.now()))
    clock.advance(timedelta(minutes=9))
    assert (await client.get("/readyz")).status_code == 200
    clock.advance(timedelta(minutes=2))
    stuck = await client.get("/readyz")
    assert (stuck.status_code, stuck.json()["worker"]) == (503, "stuck")


async def test_extra_routes_are_served(store: SqliteStore, clock: FrozenClock) -> None:
    from starlette.responses import PlainTextResponse
    from starlette.routing import Route

    async def metrics(request: object) -> PlainTextResponse:
        return PlainTextResponse("wk_up 1\n")

    app = build_app(settings(), store, Processed(), clock, run_worker=False, close_store=False,
                    extra_routes=[Route("/metrics", metrics)])
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url="http://wk.test") as c:
        assert (await c.get("/metrics")).text == "wk_up 1\n"
        assert (await c.get(URL)).status_code == 405  # the webhook only takes POST


async def test_a_sender_that_disconnects_mid_body_stores_nothing(
    app: Starlette, store: SqliteStore
) -> None:
    sent: list[dict[str, Any]] = []
    messages = [{"type": "http.request", "body": b'{"zen":', "more_body": True},
                {"type": "http.disconnect"}]

    async def receive() -> dict[str, Any]:
        return messages.pop(0)

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    h = headers(b'{"zen": "x"}')
    scope = {"type": "http", "method": "POST", "path": URL, "raw_path": URL.encode(),
             "query_string": b"", "root_path": "", "scheme": "http", "http_version": "1.1",
             "server": ("wk.test", 80), "client": ("127.0.0.1", 5000),
             "headers": [(k.lower().encode(), v.encode()) for k, v in h.items()]}
    await app(scope, receive, send)
    assert sent[0]["status"] == 400
    assert (await store.queue_stats(T0))["pending"] == 0
