"""``watchkeeper setup``: register the GitHub App through the manifest flow (as Probot does).

Wires the flags to ``watchkeeper.setup.run_setup``, which serves the local page, posts the
manifest built from ``app.yml``, exchanges GitHub's code against ``GITHUB_API_URL`` and writes
the credentials to ``.env`` (mode 0600). The page only has to be reachable from the browser
doing the registration, so it listens on 127.0.0.1 by default; the webhook URL, on the other
hand, must be public, and a loopback one is refused rather than registered uselessly.

``app.yml``: ``./app.yml`` when the working directory has one (a checkout, or a reviewed copy
next to the deployment), else the copy shipped inside the package.
"""

from __future__ import annotations

import argparse
import ipaddress
import os
import sys
from importlib import resources
from pathlib import Path
from urllib.parse import urlsplit

from watchkeeper.subcommands.environment import DEFAULT_ENV_FILE, read_environment

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 3000
DEFAULT_API_URL = "https://api.github.com"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--webhook-url", metavar="URL",
                        help="public URL GitHub delivers webhooks to, e.g. "
                        "https://watchkeeper.example.com/api/github/webhooks "
                        "(default: the base URL plus WEBHOOK_PATH)")
    parser.add_argument("--base-url", metavar="URL",
                        help="where your browser reaches this setup page "
                        "(default: http://localhost:PORT)")
    parser.add_argument("--org", metavar="LOGIN",
                        help="register the app on this organisation (default: your account)")
    parser.add_argument("--env-file", metavar="PATH", default=DEFAULT_ENV_FILE,
                        help=f"where to write the credentials (default: {DEFAULT_ENV_FILE}; "
                        "an existing file is kept as .env.bak)")
    parser.add_argument("--host", default=DEFAULT_HOST,
                        help=f"address the setup page listens on (default: {DEFAULT_HOST})")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT,
                        help=f"port the setup page listens on (default: {DEFAULT_PORT})")
    parser.add_argument("--app-yml", metavar="FILE",
                        help="the app manifest (default: ./app.yml if present, else the "
                        "packaged one)")
    parser.add_argument("--github-url", metavar="URL",
                        help="GitHub's web address (default: from GITHUB_API_URL: "
                        "https://github.com, or https://HOST for GitHub Enterprise Server)")


def packaged_app_yml() -> str:
    return resources.files("watchkeeper").joinpath("app.yml").read_text("utf-8")


def github_web_url(api_url: str) -> str:
    """https://api.github.com -> https://github.com; https://HOST/api/v3 -> https://HOST."""
    parts = urlsplit(api_url.rstrip("/"))
    if (parts.hostname or "").lower() == "api.github.com":
        return "https://github.com"
    path = parts.path.removesuffix("/api/v3")
    return f"{parts.scheme}://{parts.netloc}{path}"


def is_loopback(url: str) -> bool:
    host = (urlsplit(url).hostname or "").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback or ipaddress.ip_address(host).is_unspecified
    except ValueError:
        return False


def run(args: argparse.Namespace) -> int:
    try:
        return _run(args)
    except ValueError as exc:  # a bad flag or app.yml: one line, no traceback
        print(f"watchkeeper setup: {exc}", file=sys.stderr)
        return 2


def _run(args: argparse.Namespace) -> int:
    import asyncio

    from watchkeeper.setup.manifest import DEFAULT_WEBHOOK_PATH
    from watchkeeper.setup.run import run_setup

    if not 0 < args.port < 65536:
        raise ValueError("--port must be between 1 and 65535")
    # The environment (or an existing .env) may point at GitHub Enterprise Server.
    env = _environment(args.env_file)
    api_url = (env.get("GITHUB_API_URL") or DEFAULT_API_URL).strip().rstrip("/")
    if urlsplit(api_url).scheme not in ("http", "https"):
        raise ValueError("GITHUB_API_URL must be an http(s) URL")
    webhook_path = (env.get("WEBHOOK_PATH") or DEFAULT_WEBHOOK_PATH).strip()
    base_url = (args.base_url or f"http://localhost:{args.port}").rstrip("/")
    hook_url = args.webhook_url or base_url + webhook_path
    if is_loopback(hook_url):
        raise ValueError(
            f"GitHub cannot deliver webhooks to {hook_url}: pass --webhook-url with the public "
            "URL of the server that will run `watchkeeper serve`")
    app_yml = _app_yml_path(args.app_yml)
    result = asyncio.run(run_setup(
        host=args.host,
        port=args.port,
        base_url=base_url,
        org=args.org,
        env_path=args.env_file,
        app_yml_path=app_yml,
        api_url=api_url,
        github_url=(args.github_url or github_web_url(api_url)).rstrip("/"),
        webhook_url=args.webhook_url,
        webhook_path=webhook_path,
    ))
    if result is None:
        print("Stopped before GitHub handed back the credentials; nothing was written.",
              file=sys.stderr)
        return 1
    if result.error is not None:
        return 1
    print("Next: install the app (link above), then run `watchkeeper serve`.")
    return 0


def _environment(env_file: str) -> dict[str, str]:
    """The real environment over the existing env file, if any (read errors are not fatal:
    setup is about to replace the file, keeping the old one as a backup)."""
    from watchkeeper.settings import SettingsError

    if Path(env_file).is_file():
        try:
            return read_environment(env_file)
        except SettingsError:
            pass
    return {k: v for k, v in os.environ.items() if v.strip()}


def _app_yml_path(given: str | None) -> Path:
    if given is not None:
        path = Path(given)
        if not path.is_file():
            raise ValueError(f"--app-yml {given}: no such file")
        return path
    local = Path("app.yml")
    if local.is_file():
        print(f"Using {local.resolve()}")
        return local
    return Path(str(resources.files("watchkeeper").joinpath("app.yml")))
