"""The fake GitHub served over HTTP: an ASGI app around a ``FakeGitHub``.

For Watchkeeper processes that cannot share the fake as an in-process transport:
replicas started as separate processes in tests, and the storm benchmark. Serve it
with uvicorn on loopback and point GITHUB_API_URL at it; create the fake with that
URL as ``api_url`` so the URLs it hands out lead back to it. The fake's ``latency``
is added to every call, as a real API's round trip would be.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import httpx

from watchkeeper.github.fake.transport import FakeTransport

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]


class FakeGitHubApp:
    def __init__(self, fake: FakeTransport) -> None:
        self.fake = fake

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        if scope["type"] != "http":
            return
        body = bytearray()
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body", False):
                break
        headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in scope["headers"]]
        host = dict(headers).get("host", "127.0.0.1")
        target = scope.get("raw_path") or scope["path"].encode()
        query = scope.get("query_string", b"")
        url = f"http://{host}{target.decode('ascii')}" + (f"?{query.decode()}" if query else "")
        request = httpx.Request(scope["method"], url, headers=headers, content=bytes(body))
        response = await self.fake.handle_async_request(request)
        content = await response.aread()
        out = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in response.headers.items()
               if k.lower() not in ("content-length", "transfer-encoding")]
        out.append((b"content-length", str(len(content)).encode()))
        await send({"type": "http.response.start", "status": response.status_code,
                    "headers": out})
        await send({"type": "http.response.body", "body": content})
