"""Run an ASGI app on a real socket inside the current event loop (the demo's server and
its page share one loop with the simulated GitHub and its webhook sender)."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator, Iterator

import uvicorn
from starlette.types import ASGIApp


class _Server(uvicorn.Server):
    """uvicorn without its signal handlers: the demo owns Ctrl-C (asyncio.run cancels the
    main task, which stops every server in turn)."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


@contextlib.asynccontextmanager
async def serving(app: ASGIApp, host: str = "127.0.0.1", port: int = 0
                  ) -> AsyncIterator[str]:
    """Serve ``app`` until the block ends; yields its base URL (port 0: any free port).

    The socket is bound here, so a port in use is an ``OSError`` for the caller to report
    (uvicorn would exit the process)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    config = uvicorn.Config(app, log_config=None, access_log=False, server_header=False,
                            lifespan="on", ws="none", timeout_graceful_shutdown=5)
    server = _Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]), name=f"serve-{host}:{port}")
    try:
        while not server.started:
            if task.done():
                raise RuntimeError(f"the server on {host}:{port} stopped while starting")
            await asyncio.sleep(0.01)
        bound = sock.getsockname()
        shown = f"[{bound[0]}]" if ":" in bound[0] else bound[0]
        yield f"http://{shown}:{bound[1]}"
    finally:
        server.should_exit = True
        with contextlib.suppress(asyncio.CancelledError):
            await task
        sock.close()
