"""`watchkeeper setup`: serve the manifest pages until GitHub has handed back the credentials."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import httpx
import uvicorn

from watchkeeper.setup.manifest import DEFAULT_WEBHOOK_PATH, build_manifest
from watchkeeper.setup.web import DEFAULT_API_URL, SetupResult, build_setup_app


async def run_setup(
    *,
    host: str,
    port: int,
    base_url: str,
    org: str | None,
    env_path: str | Path,
    app_yml_path: str | Path,
    api_url: str = DEFAULT_API_URL,
    github_url: str = "https://github.com",
    webhook_url: str | None = None,
    webhook_path: str = DEFAULT_WEBHOOK_PATH,
    echo: Callable[[str], None] = print,
    transport: httpx.AsyncBaseTransport | None = None,
) -> SetupResult | None:
    """Serve until one registration completes; None when stopped before that (Ctrl-C)."""
    manifest = build_manifest(
        Path(app_yml_path).read_text(encoding="utf-8"),
        base_url=base_url,
        webhook_path=webhook_path,
        webhook_url=webhook_url,
    )
    results: list[SetupResult] = []
    server: uvicorn.Server | None = None

    def on_done(result: SetupResult) -> None:
        results.append(result)
        if server is not None:
            server.should_exit = True

    app = build_setup_app(
        manifest,
        github_url=github_url,
        api_url=api_url,
        env_path=env_path,
        org=org,
        on_done=on_done,
        transport=transport,
    )
    config = uvicorn.Config(app, host=host, port=port, lifespan="off", log_level="warning")
    server = uvicorn.Server(config)
    echo(f"Open {base_url.rstrip('/')}/ in your browser to register the GitHub App.")
    echo(f"GitHub will send webhooks to {manifest['hook_attributes']['url']}")
    await server.serve()
    if not results:
        return None
    result = results[0]
    if result.error is not None:
        echo(f"The app {result.html_url} was created, but {result.error}")
    else:
        echo(f"Credentials written to {result.env_path} (mode 0600).")
        if result.backup_path is not None:
            echo(f"The previous file was kept as {result.backup_path}.")
    echo(f"Install the app: {result.install_url}")
    return result
