"""Ingress benchmark: signed deliveries against ``watchkeeper serve`` on loopback.

Measures deliveries per second and time to 202 (p50/p99) at a fixed
concurrency, beside a bare Starlette app that only verifies the signature and
answers 202, served by the same uvicorn settings in the same run. Afterwards
the server is killed with SIGKILL and every acknowledged delivery is looked up
in its database: an answer of 202 must mean "stored".

    python benchmarks/ingress.py                      # 20,000 requests, concurrency 16
    python benchmarks/ingress.py --requests 2000      # a quick look

The client speaks HTTP/1.1 over raw asyncio streams (keep-alive, one request in
flight per connection) so that it costs the shared CPU as little as possible.
Nothing leaves 127.0.0.1; GITHUB_API_URL points at a closed local port.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import json
import os
import secrets
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FIXTURE = ROOT / "tests/fixtures/webhooks/workflow_run/completed.payload.json"
PATH = "/api/github/webhooks"
PLACEHOLDER = 987654321987


# --- payload ------------------------------------------------------------------------

def build_template() -> tuple[bytes, bytes]:
    """A ~20 KB compact workflow_run payload split around a per-request run id.

    The octokit example lacks fields today's deliveries carry (installation,
    actor, triggering_actor, run_attempt, display_title, run_started_at); they
    are added so the size matches a real delivery. The run succeeded and is not
    a security workflow, so processing it needs no GitHub call.
    """
    payload = json.loads(FIXTURE.read_text(encoding="utf-8"))
    run = payload["workflow_run"]
    payload["installation"] = {"id": 12345678, "node_id": "MDIzOkludGVncmF0aW9uSW5zdGFsbGF0aW9u"}
    run.update(
        id=PLACEHOLDER,
        name="CI",
        path=".github/workflows/ci.yml",
        conclusion="success",
        run_attempt=1,
        display_title=run["head_commit"]["message"],
        run_started_at=run["created_at"],
        actor=payload["sender"],
        triggering_actor=payload["sender"],
    )
    payload["workflow"].update(name="CI", path=".github/workflows/ci.yml")
    raw = json.dumps(payload, separators=(",", ":")).encode()
    prefix, suffix = raw.split(str(PLACEHOLDER).encode())
    return prefix, suffix


# --- servers ------------------------------------------------------------------------

def bare_app(secret: str):  # type: ignore[no-untyped-def]
    """The floor: read the body, verify the signature, answer 202. Nothing else."""
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import PlainTextResponse
    from starlette.routing import Route

    key = secret.encode()

    async def webhook(request: Request) -> PlainTextResponse:
        body = await request.body()
        given = request.headers.get("x-hub-signature-256", "").removeprefix("sha256=")
        expected = hmac.new(key, body, hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected.encode(), given.encode()):
            return PlainTextResponse("signature does not match", status_code=401)
        return PlainTextResponse("accepted", status_code=202)

    async def healthz(request: Request) -> PlainTextResponse:
        return PlainTextResponse("ok")

    return Starlette(routes=[Route(PATH, webhook, methods=["POST"]),
                             Route("/healthz", healthz, methods=["GET"])])


def serve_bare(port: int) -> None:
    from watchkeeper.cli import run_http

    run_http(bare_app(os.environ["WEBHOOK_SECRET"]), "127.0.0.1", port)


def serve_noop(port: int) -> None:
    """build_app with a processor that does nothing (for use before wiring exists)."""
    from watchkeeper import logs
    from watchkeeper.cli import run_http
    from watchkeeper.clock import SystemClock
    from watchkeeper.server import build_app
    from watchkeeper.settings import Settings
    from watchkeeper.store import open_store

    settings = Settings.from_env(os.environ)
    logs.configure(settings.log_level)

    async def noop(delivery: object) -> None:
        return None

    opts = json.loads(os.environ.get("WK_STORE_OPTS", "{}"))
    app = build_app(settings, open_store(settings.database_url, **opts), noop, SystemClock())
    run_http(app, "127.0.0.1", port)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start(cmd: list[str], env: dict[str, str], port: int) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(cmd, env=env, cwd=ROOT)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"server exited early with {proc.returncode}: {' '.join(cmd)}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1):
                return proc
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit("server did not become healthy within 30 s")


# --- client -------------------------------------------------------------------------

@dataclass
class Result:
    name: str
    seconds: float
    latencies: list[float]
    statuses: dict[int, int]
    accepted: list[str]

    def line(self) -> str:
        lat = sorted(self.latencies)
        p50 = statistics.median(lat) * 1000
        p99 = lat[min(len(lat) - 1, int(len(lat) * 0.99))] * 1000
        rate = len(lat) / self.seconds
        return (f"{self.name:<18} {rate:8.0f} deliveries/s   p50 {p50:6.2f} ms   "
                f"p99 {p99:6.2f} ms   max {lat[-1] * 1000:7.2f} ms   statuses {self.statuses}")

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.seconds

    @property
    def p99_ms(self) -> float:
        lat = sorted(self.latencies)
        return lat[min(len(lat) - 1, int(len(lat) * 0.99))] * 1000


async def hammer(name: str, port: int, secret: bytes, template: tuple[bytes, bytes],
                 total: int, concurrency: int, first_id: int) -> Result:
    prefix, suffix = template
    remaining = iter(range(first_id, first_id + total))
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    accepted: list[str] = []
    head = (f"POST {PATH} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
            "User-Agent: GitHub-Hookshot/bench\r\nAccept: */*\r\n"
            "Content-Type: application/json\r\nX-GitHub-Event: workflow_run\r\n"
            "X-GitHub-Hook-ID: 1\r\nX-GitHub-Hook-Installation-Target-Type: integration\r\n"
            "X-GitHub-Hook-Installation-Target-ID: 1\r\n").encode()

    async def connection() -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        for run_id in remaining:
            body = prefix + str(run_id).encode() + suffix
            delivery = str(uuid.uuid4())
            sig = hmac.new(secret, body, hashlib.sha256).hexdigest()
            request = b"".join((
                head, b"X-GitHub-Delivery: ", delivery.encode(),
                b"\r\nX-Hub-Signature-256: sha256=", sig.encode(),
                b"\r\nContent-Length: ", str(len(body)).encode(), b"\r\n\r\n", body,
            ))
            started = time.perf_counter()
            writer.write(request)
            header = await reader.readuntil(b"\r\n\r\n")
            status = int(header[9:12])
            length = 0
            for line in header.split(b"\r\n"):
                if line[:15].lower() == b"content-length:":
                    length = int(line[15:])
            if length:
                await reader.readexactly(length)
            latencies.append(time.perf_counter() - started)
            statuses[status] = statuses.get(status, 0) + 1
            if status == 202:
                accepted.append(delivery)
        writer.close()

    started = time.perf_counter()
    await asyncio.gather(*(connection() for _ in range(concurrency)))
    return Result(name, time.perf_counter() - started, latencies, statuses, accepted)


def stored_ids(db: Path) -> set[str]:
    conn = sqlite3.connect(db)
    try:
        return {row[0] for row in conn.execute("SELECT delivery_id FROM deliveries")}
    finally:
        conn.close()


# --- driver -------------------------------------------------------------------------

def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=20_000)
    parser.add_argument("--warmup", type=int, default=2_000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--noop-processor", action="store_true",
                        help="serve build_app with a no-op processor instead of watchkeeper serve")
    parser.add_argument("--serve-bare", type=int, metavar="PORT", help=argparse.SUPPRESS)
    parser.add_argument("--serve-noop", type=int, metavar="PORT", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_bare:
        serve_bare(args.serve_bare)
        return 0
    if args.serve_noop:
        serve_noop(args.serve_noop)
        return 0
    if not 0 < args.requests <= 200_000 or not 0 < args.concurrency <= 256:
        raise SystemExit("keep --requests within 1..200000 and --concurrency within 1..256")

    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption()).decode()
    secret = secrets.token_hex(32)
    template = build_template()
    size = len(template[0]) + len(template[1]) + len(str(PLACEHOLDER))
    tmp = Path(tempfile.mkdtemp(prefix="wk-bench-"))
    db = tmp / "bench.db"
    env = {**os.environ, "APP_ID": "1", "PRIVATE_KEY": pem, "WEBHOOK_SECRET": secret,
           "GITHUB_API_URL": "http://127.0.0.1:9", "DATABASE_URL": f"sqlite:///{db}",
           "LOG_LEVEL": "WARNING", "PYTHONUNBUFFERED": "1"}

    me = [sys.executable, str(Path(__file__).resolve())]
    targets = [("bare starlette", "bare"), ("watchkeeper serve", "serve")]
    print(f"payload {size} bytes, {args.requests} requests after {args.warmup} warm-up, "
          f"concurrency {args.concurrency}, {os.cpu_count()} CPUs, loopback")
    results: dict[str, Result] = {}
    next_id = 1
    for label, kind in targets:
        port = free_port()
        if kind == "bare":
            cmd = [*me, "--serve-bare", str(port)]
        elif args.noop_processor:
            cmd = [*me, "--serve-noop", str(port)]
            label = "build_app (no-op)"
        else:
            cmd = [sys.executable, "-m", "watchkeeper.cli", "serve",
                   "--host", "127.0.0.1", "--port", str(port)]
        proc = start(cmd, env, port)
        try:
            asyncio.run(hammer(label, port, secret.encode(), template, args.warmup,
                               args.concurrency, next_id))
            next_id += args.warmup
            result = asyncio.run(hammer(label, port, secret.encode(), template,
                                        args.requests, args.concurrency, next_id))
            next_id += args.requests
        finally:
            if kind == "serve":
                proc.send_signal(signal.SIGKILL)  # no graceful shutdown: test durability
            else:
                proc.terminate()
            proc.wait(timeout=30)
        results[kind] = result
        print(result.line(), flush=True)

    serve, bare = results["serve"], results["bare"]
    stored = stored_ids(db)
    missing = [d for d in serve.accepted if d not in stored]
    ratio = serve.rate / bare.rate
    print(f"throughput ratio {ratio:.2f} of bare (target >= 0.50); "
          f"p99 {serve.p99_ms:.2f} ms (target < 15 ms)")
    print(f"after SIGKILL: {len(serve.accepted) - len(missing)}/{len(serve.accepted)} "
          f"acknowledged deliveries found in the store")
    ok = not missing and ratio >= 0.5 and serve.p99_ms < 15 and serve.statuses == {202: args.requests}
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
