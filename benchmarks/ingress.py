"""Ingress benchmark: signed deliveries against ``watchkeeper serve`` on loopback.

Measures deliveries per second and time to 202 (p50/p99) at a fixed
concurrency, beside a bare Starlette app that only verifies the signature and
answers 202, served by the same uvicorn settings in the same run. Afterwards
the server is killed with SIGKILL and every acknowledged delivery is looked up
in its database: an answer of 202 must mean "stored".

    python benchmarks/ingress.py                      # 20,000 requests, concurrency 16
    python benchmarks/ingress.py --requests 2000      # a quick look

Both servers run side by side and are measured in alternating rounds, so that a
neighbour's load or a frequency change hits both alike; latencies are pooled.

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
import shutil
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
    """The octokit workflow_run example (about 19 KB compact), split around its run id.

    GitHub adds `installation` to every delivery to an App; the example lacks it. The
    run succeeded and is not a security workflow, so processing needs no GitHub call.
    """
    payload = json.loads(FIXTURE.read_text(encoding="utf-8"))
    payload["installation"] = {"id": 12345678, "node_id": "MDIzOkludGVncmF0aW9uSW5zdGFsbGF0aW9u"}
    payload["workflow_run"].update(
        id=PLACEHOLDER, name="CI", path=".github/workflows/ci.yml", conclusion="success"
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

    app = build_app(settings, open_store(settings.database_url), noop, SystemClock())
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


def stored_ids(db: Path) -> tuple[set[str], int]:
    """Every delivery ID in the database, and how many the worker had finished."""
    conn = sqlite3.connect(db)
    try:
        ids = {row[0] for row in conn.execute("SELECT delivery_id FROM deliveries")}
        (done,) = conn.execute("SELECT COUNT(*) FROM deliveries WHERE state = 'done'").fetchone()
        return ids, int(done)
    finally:
        conn.close()


def pooled(name: str, parts: list[Result]) -> Result:
    return Result(
        name,
        sum(p.seconds for p in parts),
        [x for p in parts for x in p.latencies],
        {k: sum(p.statuses.get(k, 0) for p in parts) for p in parts for k in p.statuses},
        [d for p in parts for d in p.accepted],
    )


# --- driver -------------------------------------------------------------------------

def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=20_000)
    parser.add_argument("--warmup", type=int, default=2_000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=5,
                        help="measure in this many alternating rounds (machines drift)")
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
    if not (0 < args.requests <= 200_000 and 0 < args.concurrency <= 256
            and 0 < args.rounds <= 100 and args.warmup >= 0):
        raise SystemExit("keep --requests in 1..200000, --concurrency in 1..256, "
                         "--rounds in 1..100")

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
           "APP_SLUG": "watchkeeper-bench",  # own-event check without asking GitHub
           "RECONCILE_INTERVAL": "0",  # the reconcile pass asks GitHub; nothing answers here
           "GITHUB_API_URL": "http://127.0.0.1:9", "DATABASE_URL": f"sqlite:///{db}",
           "LOG_LEVEL": "WARNING", "PYTHONUNBUFFERED": "1"}
    me = [sys.executable, str(Path(__file__).resolve())]
    label = "watchkeeper serve"
    if args.noop_processor:
        serve_cmd, label = [*me, "--serve-noop"], "build_app (no-op)"
    else:
        serve_cmd = [sys.executable, "-m", "watchkeeper.cli", "serve", "--host", "127.0.0.1",
                     "--port"]
    print(f"payload {size} bytes, {args.requests} requests each after {args.warmup} warm-up, "
          f"concurrency {args.concurrency}, {args.rounds} alternating rounds, "
          f"{os.cpu_count()} CPUs, loopback", flush=True)

    ports = {"bare": free_port(), "serve": free_port()}
    procs: dict[str, subprocess.Popen[bytes]] = {}
    parts: dict[str, list[Result]] = {"bare": [], "serve": []}
    next_id = 1
    try:
        procs["bare"] = start([*me, "--serve-bare", str(ports["bare"])], env, ports["bare"])
        procs["serve"] = start([*serve_cmd, str(ports["serve"])], env, ports["serve"])

        def run(kind: str, count: int) -> Result:
            nonlocal next_id
            name = "bare starlette" if kind == "bare" else label
            result = asyncio.run(hammer(name, ports[kind], secret.encode(), template, count,
                                        args.concurrency, next_id))
            next_id += count
            return result

        for kind in parts:
            if args.warmup:
                run(kind, args.warmup)
        per_round = [args.requests // args.rounds] * args.rounds
        per_round[-1] += args.requests - sum(per_round)
        for i, count in enumerate(per_round):
            order = ("bare", "serve") if i % 2 == 0 else ("serve", "bare")
            for kind in order:
                parts[kind].append(run(kind, count))
        # No graceful shutdown: an acknowledged delivery must already be on disk.
        procs["serve"].send_signal(signal.SIGKILL)
        procs["serve"].wait(timeout=30)
        stored, processed = stored_ids(db)
    finally:
        for proc in procs.values():
            if proc.poll() is None:
                proc.kill()
                proc.wait(timeout=30)
        shutil.rmtree(tmp, ignore_errors=True)

    bare, serve = pooled("bare starlette", parts["bare"]), pooled(label, parts["serve"])
    print(bare.line())
    print(serve.line())
    missing = [d for d in serve.accepted if d not in stored]
    ratio = serve.rate / bare.rate
    print(f"throughput ratio {ratio:.2f} of bare (target >= 0.50); "
          f"p99 {serve.p99_ms:.2f} ms (target < 15 ms)")
    print(f"after SIGKILL: {len(serve.accepted) - len(missing)}/{len(serve.accepted)} "
          f"acknowledged deliveries found in the store; the worker had processed "
          f"{processed} of {len(stored)} stored (warm-up included)")
    ok = (not missing and ratio >= 0.5 and serve.p99_ms < 15
          and serve.statuses == {202: args.requests})
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
