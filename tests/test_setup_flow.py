"""The GitHub App manifest flow (`watchkeeper setup`) against a mocked conversion endpoint."""

from __future__ import annotations

import asyncio
import html
import json
import os
import re
import socket
import stat
from pathlib import Path

import httpx
import pytest
import respx
import yaml
from hypothesis import given
from hypothesis import strategies as st

from watchkeeper.setup import (
    DotenvError,
    SetupResult,
    build_manifest,
    build_setup_app,
    load_dotenv,
    parse_dotenv,
    run_setup,
    write_env,
)
from watchkeeper.setup.dotenv import render_dotenv

APP_YML = Path(__file__).resolve().parents[1] / "app.yml"
API = "https://ghes.example.com/api/v3"
PEM = "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEAuZ\nabc+/=\n-----END RSA PRIVATE KEY-----\n"


def conversion_body(**overrides: object) -> dict[str, object]:
    """Shape of GitHub's documented 201 example for POST /app-manifests/{code}/conversions,
    trimmed to the fields the flow reads plus a few it ignores."""
    body: dict[str, object] = {
        "id": 1234,
        "slug": "watchkeeper-acme",
        "node_id": "MDM6QXBwNTk=",
        "owner": {"login": "acme", "id": 1, "type": "Organization"},
        "name": "Watchkeeper (acme)",
        "description": "",
        "external_url": "https://github.com/watchkeeper/watchkeeper",
        "html_url": "https://github.com/apps/watchkeeper-acme",
        "created_at": "2026-01-02T03:04:05Z",
        "updated_at": "2026-01-02T03:04:05Z",
        "permissions": {"metadata": "read", "issues": "write"},
        "events": ["issues"],
        "client_id": "Iv1.8a61f9b3a7aba766",
        "client_secret": "1726be1638095a19edd134c77bde3aa2ece1e5d8",
        "webhook_secret": "e340154128314309424b7c8e90325147d99fdafa",
        "pem": PEM,
    }
    body.update(overrides)
    return body


def manifest() -> dict[str, object]:
    return build_manifest(APP_YML.read_text(), base_url="https://wk.example.com")


def state_of(page: str) -> str:
    action = html.unescape(re.search(r'<form action="([^"]+)"', page).group(1))
    return action.split("?state=", 1)[1]


async def client_for(app) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://setup")


# --- manifest -------------------------------------------------------------------------


def test_manifest_is_app_yml_with_urls_filled_in() -> None:
    app_yml = yaml.safe_load(APP_YML.read_text())
    m = build_manifest(APP_YML.read_text(), base_url="https://wk.example.com/")
    assert m["hook_attributes"] == {"url": "https://wk.example.com/api/github/webhooks"}
    assert m["redirect_url"] == "https://wk.example.com/setup/callback"
    assert m["version"] == "v1"
    assert m["name"] == "Watchkeeper"
    assert m["public"] is False
    assert m["url"] == app_yml["url"]
    assert m["description"] == app_yml["description"]
    assert m["default_events"] == app_yml["default_events"]
    assert m["default_permissions"] == app_yml["default_permissions"]
    assert set(m) == {
        "name", "description", "url", "public", "hook_attributes", "default_events",
        "default_permissions", "redirect_url", "version",
    }  # fmt: skip


def test_manifest_webhook_url_override_and_path() -> None:
    text = APP_YML.read_text()
    m = build_manifest(text, base_url="http://localhost:3000", webhook_url="https://hooks.ex/x")
    assert m["hook_attributes"]["url"] == "https://hooks.ex/x"
    assert m["redirect_url"] == "http://localhost:3000/setup/callback"
    m = build_manifest(text, base_url="https://a.example", webhook_path="hooks")
    assert m["hook_attributes"]["url"] == "https://a.example/hooks"


@pytest.mark.parametrize(
    ("text", "base_url", "message"),
    [
        ("- a list", "https://a.example", "must be a mapping"),
        ("name: x\nurl: https://x\ndefault_event: [issues]", "https://a.example", "default_event"),
        ("name: x", "https://a.example", "'url'"),
        ("name: x\nurl: https://x", "ftp://a.example", "http(s) URL"),
        ("name: x\nurl: https://x\ndefault_permissions: {issues: all}", "https://a", "issues"),
        ("name: x\nurl: https://x\npublic: 'yes'", "https://a.example", "true or false"),
    ],
)
def test_manifest_refuses_bad_input(text: str, base_url: str, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        build_manifest(text, base_url=base_url)


# --- the setup page ---------------------------------------------------------------------


async def test_index_posts_manifest_and_state_to_github(tmp_path: Path) -> None:
    app = build_setup_app(manifest(), api_url=API, env_path=tmp_path / ".env")
    async with await client_for(app) as client:
        response = await client.get("/")
    assert response.status_code == 200
    page = response.text
    action = html.unescape(re.search(r'<form action="([^"]+)" method="post">', page).group(1))
    assert action.startswith("https://github.com/settings/apps/new?state=")
    assert len(state_of(page)) >= 40
    field = re.search(r'<input type="hidden" name="manifest" value="([^"]*)">', page).group(1)
    assert json.loads(html.unescape(field)) == manifest()
    assert response.headers["referrer-policy"] == "no-referrer"


async def test_index_for_an_organisation_on_ghes(tmp_path: Path) -> None:
    app = build_setup_app(
        manifest(), github_url="https://ghes.example.com/", api_url=API, org="acme-sec"
    )
    async with await client_for(app) as client:
        page = (await client.get("/")).text
    assert "https://ghes.example.com/organizations/acme-sec/settings/apps/new?state=" in page
    with pytest.raises(ValueError, match="organisation"):
        build_setup_app(manifest(), org="acme/../../evil")


async def test_each_app_draws_its_own_state(tmp_path: Path) -> None:
    pages = []
    for _ in range(2):
        async with await client_for(build_setup_app(manifest())) as client:
            pages.append((await client.get("/")).text)
    assert state_of(pages[0]) != state_of(pages[1])


# --- the callback -----------------------------------------------------------------------


async def test_wrong_or_missing_state_is_refused(
    tmp_path: Path, respx_mock: respx.MockRouter
) -> None:
    env = tmp_path / ".env"
    app = build_setup_app(manifest(), api_url=API, env_path=env)
    async with await client_for(app) as client:
        state = state_of((await client.get("/")).text)
        wrong = await client.get("/setup/callback", params={"code": "abc123", "state": "x" + state})
        missing = await client.get("/setup/callback", params={"code": "abc123"})
        unicode = await client.get("/setup/callback", params={"code": "abc123", "state": "é"})
    assert [wrong.status_code, missing.status_code, unicode.status_code] == [403, 403, 403]
    assert "does not match" in wrong.text
    assert not respx_mock.calls
    assert not env.exists()


async def test_callback_exchanges_code_and_writes_env(
    tmp_path: Path, respx_mock: respx.MockRouter
) -> None:
    route = respx_mock.post(f"{API}/app-manifests/abc123/conversions").respond(
        201, json=conversion_body()
    )
    env = tmp_path / ".env"
    done: list[SetupResult] = []
    app = build_setup_app(manifest(), api_url=API, env_path=env, on_done=done.append)
    async with await client_for(app) as client:
        state = state_of((await client.get("/")).text)
        response = await client.get("/setup/callback", params={"code": "abc123", "state": state})

    assert response.status_code == 200
    assert route.call_count == 1
    request = route.calls.last.request
    assert request.method == "POST"
    assert str(request.url) == "https://ghes.example.com/api/v3/app-manifests/abc123/conversions"
    assert "authorization" not in request.headers
    assert request.headers["x-github-api-version"] == "2022-11-28"
    assert request.content == b""

    assert stat.S_IMODE(env.stat().st_mode) == 0o600
    assert load_dotenv(env) == {
        "APP_ID": "1234",
        "PRIVATE_KEY": PEM,
        "WEBHOOK_SECRET": "e340154128314309424b7c8e90325147d99fdafa",
        "GITHUB_CLIENT_ID": "Iv1.8a61f9b3a7aba766",
        "GITHUB_CLIENT_SECRET": "1726be1638095a19edd134c77bde3aa2ece1e5d8",
        "GITHUB_API_URL": API,
    }
    text = env.read_text()
    assert "APP_ID=1234\n" in text
    assert (
        'PRIVATE_KEY="-----BEGIN RSA PRIVATE KEY-----\\nMIIEowIBAAKCAQEAuZ\\nabc+/=\\n'
        '-----END RSA PRIVATE KEY-----\\n"\n'
    ) in text
    assert not (tmp_path / ".env.bak").exists()

    install = "https://github.com/apps/watchkeeper-acme/installations/new"
    assert f'<a href="{install}">{install}</a>' in response.text
    assert PEM.splitlines()[1] not in response.text
    assert "1726be1638095a19edd134c77bde3aa2ece1e5d8" not in response.text
    assert done == [
        SetupResult(
            app_name="Watchkeeper (acme)",
            app_slug="watchkeeper-acme",
            html_url="https://github.com/apps/watchkeeper-acme",
            install_url=install,
            env_path=env,
            backup_path=None,
        )
    ]


async def test_github_com_keeps_the_default_api_version_and_env_has_no_api_url(
    tmp_path: Path, respx_mock: respx.MockRouter
) -> None:
    route = respx_mock.post("https://api.github.com/app-manifests/c0de/conversions").respond(
        201, json=conversion_body()
    )
    env = tmp_path / ".env"
    app = build_setup_app(manifest(), env_path=env)
    async with await client_for(app) as client:
        state = state_of((await client.get("/")).text)
        response = await client.get("/setup/callback", params={"code": "c0de", "state": state})
    assert response.status_code == 200
    assert route.calls.last.request.headers["x-github-api-version"] != "2022-11-28"
    assert "GITHUB_API_URL" not in load_dotenv(env)


async def test_existing_env_is_backed_up_and_other_keys_kept(
    tmp_path: Path, respx_mock: respx.MockRouter
) -> None:
    respx_mock.post(f"{API}/app-manifests/abc123/conversions").respond(201, json=conversion_body())
    env = tmp_path / ".env"
    old = "# mine\nAPP_ID=1\nDATABASE_URL=sqlite:////data/wk.db\nLOG_LEVEL='debug'\n"
    env.write_text(old)
    env.chmod(0o644)
    app = build_setup_app(manifest(), api_url=API, env_path=env)
    async with await client_for(app) as client:
        state = state_of((await client.get("/")).text)
        response = await client.get("/setup/callback", params={"code": "abc123", "state": state})

    backup = tmp_path / ".env.bak"
    assert backup.read_text() == old
    assert stat.S_IMODE(backup.stat().st_mode) == 0o600
    assert stat.S_IMODE(env.stat().st_mode) == 0o600
    values = load_dotenv(env)
    assert values["APP_ID"] == "1234"
    assert values["DATABASE_URL"] == "sqlite:////data/wk.db"
    assert values["LOG_LEVEL"] == "debug"
    assert f"<code>{backup}</code>" in response.text


def test_backups_are_never_overwritten(tmp_path: Path) -> None:
    env = tmp_path / ".env"
    env.write_text("A=1\n")
    assert write_env(env, {"A": "2"}) == tmp_path / ".env.bak"
    assert write_env(env, {"A": "3"}) == tmp_path / ".env.bak.1"
    assert (tmp_path / ".env.bak").read_text() == "A=1\n"
    assert (tmp_path / ".env.bak.1").read_text() == "A=2\n"
    assert load_dotenv(env) == {"A": "3"}
    assert sorted(p.name for p in tmp_path.iterdir()) == [".env", ".env.bak", ".env.bak.1"]


async def test_code_is_exchanged_once(tmp_path: Path, respx_mock: respx.MockRouter) -> None:
    route = respx_mock.post(f"{API}/app-manifests/abc123/conversions").respond(
        201, json=conversion_body()
    )
    app = build_setup_app(manifest(), api_url=API, env_path=tmp_path / ".env")
    async with await client_for(app) as client:
        state = state_of((await client.get("/")).text)
        params = {"code": "abc123", "state": state}
        first, second = await asyncio.gather(
            client.get("/setup/callback", params=params),
            client.get("/setup/callback", params=params),
        )
    assert sorted([first.status_code, second.status_code]) == [200, 409]
    assert route.call_count == 1


async def test_refused_code_shows_escaped_reason_and_writes_nothing(
    tmp_path: Path, respx_mock: respx.MockRouter
) -> None:
    respx_mock.post(f"{API}/app-manifests/abc123/conversions").respond(
        404, json={"message": "Not <b>Found</b>"}
    )
    env = tmp_path / ".env"
    app = build_setup_app(manifest(), api_url=API, env_path=env)
    async with await client_for(app) as client:
        state = state_of((await client.get("/")).text)
        response = await client.get("/setup/callback", params={"code": "abc123", "state": state})
    assert response.status_code == 502
    assert "HTTP 404: the code is unknown, already used or older than one hour" in response.text
    assert "Not &lt;b&gt;Found&lt;/b&gt;" in response.text
    assert "<b>" not in response.text
    assert not env.exists()


async def test_malformed_code_never_reaches_github(
    tmp_path: Path, respx_mock: respx.MockRouter
) -> None:
    app = build_setup_app(manifest(), api_url=API, env_path=tmp_path / ".env")
    async with await client_for(app) as client:
        state = state_of((await client.get("/")).text)
        response = await client.get("/setup/callback", params={"code": "../x", "state": state})
    assert response.status_code == 400
    assert not respx_mock.calls


async def test_everything_from_github_is_escaped(
    tmp_path: Path, respx_mock: respx.MockRouter
) -> None:
    evil = conversion_body(
        name='<script>alert("n")</script>', html_url='javascript:alert(1)//"><img src=x>'
    )
    respx_mock.post(f"{API}/app-manifests/abc123/conversions").respond(201, json=evil)
    yml = 'name: "<img src=x onerror=alert(1)>"\nurl: https://x.example\n'
    m = build_manifest(yml, base_url="https://wk.example.com")
    env = tmp_path / "a&b<c>.env"
    app = build_setup_app(m, api_url=API, env_path=env, org="acme")
    async with await client_for(app) as client:
        index = (await client.get("/")).text
        state = state_of(index)
        done = (await client.get("/setup/callback", params={"code": "abc123", "state": state})).text
    assert "<img" not in index
    assert "&lt;img src=x onerror=alert(1)&gt;" in index
    assert "<script" not in done
    assert "&lt;script&gt;alert(&quot;n&quot;)&lt;/script&gt;" in done
    assert "<img" not in done
    assert "href=" not in done  # a javascript: URL is never made a link
    assert "<code>javascript:alert(1)//&quot;&gt;&lt;img src=x&gt;/installations/new</code>" in done
    assert f"<code>{tmp_path}/a&amp;b&lt;c&gt;.env</code>" in done


# --- .env reading ------------------------------------------------------------------------


def test_load_dotenv_dialect(tmp_path: Path) -> None:
    path = tmp_path / ".env"
    path.write_text(
        "# comment\n"
        "\n"
        "export APP_ID=42\n"
        "PLAIN = value with spaces # trailing comment\n"
        "HASH=a#b\n"
        "SINGLE='raw \\n $x # kept'\n"
        'DOUBLE="line1\\nline2 \\"q\\" \\\\ # kept" # comment\n'
        'MULTI="-----BEGIN KEY-----\n'
        "abc\n"
        '-----END KEY-----"\n'
        "EMPTY=\n"
        "WEBHOOK_SECRET=new,old\r\n"
    )
    assert load_dotenv(path) == {
        "APP_ID": "42",
        "PLAIN": "value with spaces",
        "HASH": "a#b",
        "SINGLE": "raw \\n $x # kept",
        "DOUBLE": 'line1\nline2 "q" \\ # kept',
        "MULTI": "-----BEGIN KEY-----\nabc\n-----END KEY-----",
        "EMPTY": "",
        "WEBHOOK_SECRET": "new,old",
    }
    assert load_dotenv(tmp_path / "absent.env") == {}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("JUST TEXT\n", "line 1: expected KEY=value"),
        ('A=1\nB="open\n', "line 2: unterminated double quote"),
        ("A='open\n", "line 1: unterminated single quote"),
        ('A="x" y\n', "line 1: unexpected text"),
    ],
)
def test_parse_dotenv_reports_line(text: str, message: str) -> None:
    with pytest.raises(DotenvError, match=re.escape(message)):
        parse_dotenv(text)


@given(
    st.dictionaries(
        st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,10}", fullmatch=True),
        st.text(st.characters(exclude_categories=["Cs"])),
        max_size=5,
    )
)
def test_render_then_parse_round_trips(values: dict[str, str]) -> None:
    assert parse_dotenv(render_dotenv(values, header="a\nb")) == values


# --- the whole command over a real socket -------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def test_run_setup_serves_until_registered(tmp_path: Path) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    seen: list[httpx.Request] = []

    def github(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(201, json=conversion_body())

    lines: list[str] = []
    env = tmp_path / ".env"
    task = asyncio.create_task(
        run_setup(
            host="127.0.0.1",
            port=port,
            base_url=base,
            org=None,
            env_path=env,
            app_yml_path=APP_YML,
            api_url=API,
            github_url="https://github.com",
            webhook_url="https://public.example/api/github/webhooks",
            echo=lines.append,
            transport=httpx.MockTransport(github),
        )
    )
    async with httpx.AsyncClient(base_url=base) as client:
        for _ in range(500):
            try:
                page = (await client.get("/")).text
                break
            except httpx.ConnectError:
                await asyncio.sleep(0.01)
        params = {"code": "abc123", "state": state_of(page)}
        response = await client.get("/setup/callback", params=params)
    result = await asyncio.wait_for(task, timeout=10)

    assert response.status_code == 200
    assert [str(r.url) for r in seen] == [f"{API}/app-manifests/abc123/conversions"]
    assert result is not None and result.install_url.endswith("/installations/new")
    assert load_dotenv(env)["APP_ID"] == "1234"
    assert lines == [
        f"Open {base}/ in your browser to register the GitHub App.",
        "GitHub will send webhooks to https://public.example/api/github/webhooks",
        f"Credentials written to {env} (mode 0600).",
        "Install the app: https://github.com/apps/watchkeeper-acme/installations/new",
    ]
    assert os.environ.get("APP_ID") != "1234"  # setup never touches the process environment
