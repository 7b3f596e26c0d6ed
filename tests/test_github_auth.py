"""App authentication: the JWT GitHub expects, installation tokens cached and refreshed."""

from __future__ import annotations

import time
from datetime import timedelta

import jwt
import pytest
import respx

from watchkeeper.errors import PermanentError
from watchkeeper.github.client import GitHubGateway
from watchkeeper.github.fake import FakeGitHub, demo_private_key
from watchkeeper.github.fake.keys import public_key_of

REPO = "acme/api"
INST = 7
TOKEN_PATH = rf"/app/installations/{INST}/access_tokens"


def _setup(token_lifetime: timedelta = timedelta(hours=1)) -> tuple[FakeGitHub, GitHubGateway]:
    fake = FakeGitHub(app_id=42, token_lifetime=token_lifetime)
    fake.add_repo(REPO, installation_id=INST)
    gateway = GitHubGateway(fake.app_id, fake.private_key, fake.api_url, transport=fake,
                            mutation_interval=0)
    return fake, gateway


@respx.mock(base_url="https://api.github.com", assert_all_called=True)
async def test_jwt_claims(respx_mock: respx.MockRouter) -> None:
    route = respx_mock.post(f"/app/installations/{INST}/access_tokens").respond(
        201, json={"token": "ghs_x", "expires_at": "2099-01-01T00:00:00Z"})
    respx_mock.get("/repos/acme/api").respond(200, json={"default_branch": "main",
                                                         "private": True})
    gateway = GitHubGateway(42, demo_private_key(), mutation_interval=0)
    before = int(time.time())
    await gateway.get_repo(INST, REPO)
    scheme, _, token = route.calls.last.request.headers["authorization"].partition(" ")
    assert scheme == "Bearer"
    assert jwt.get_unverified_header(token)["alg"] == "RS256"
    claims = jwt.decode(token, public_key_of(demo_private_key()), algorithms=["RS256"])
    assert claims["iss"] == "42"
    assert before - 61 <= claims["iat"] <= before - 59  # 60 s in the past for clock drift
    assert claims["exp"] - claims["iat"] == 600  # the most GitHub allows


async def test_installation_token_is_cached_across_calls() -> None:
    fake, gateway = _setup()
    fake.add_repo("beta/web", installation_id=9)
    for _ in range(3):
        await gateway.get_repo(INST, REPO)
    await gateway.create_issue(INST, REPO, "t", "b")
    await gateway.get_repo(9, "beta/web")
    assert len(fake.calls("POST", TOKEN_PATH)) == 1
    assert len(fake.calls("POST", r"/app/installations/9/access_tokens")) == 1
    assert fake.tokens_issued == 2


async def test_token_near_expiry_is_not_reused() -> None:
    # githubkit keeps a token until a minute before it expires: a 30 s token is never reused.
    fake, gateway = _setup(token_lifetime=timedelta(seconds=30))
    await gateway.get_repo(INST, REPO)
    await gateway.get_repo(INST, REPO)
    assert fake.tokens_issued == 2


async def test_revoked_token_is_dropped_and_refreshed_once() -> None:
    fake, gateway = _setup()
    await gateway.get_repo(INST, REPO)
    fake.revoke_tokens(INST)  # the client still holds it
    assert await gateway.create_issue(INST, REPO, "t", "b") == 1
    assert fake.tokens_issued == 2
    assert [(r.method, r.path) for r in fake.requests] == [
        ("POST", "/app/installations/7/access_tokens"),
        ("GET", "/repos/acme/api"),
        ("POST", "/repos/acme/api/issues"),  # 401 Bad credentials
        ("POST", "/app/installations/7/access_tokens"),
        ("POST", "/repos/acme/api/issues"),
    ]
    assert len(fake.issues(REPO)) == 1
    await gateway.get_repo(INST, REPO)
    assert fake.tokens_issued == 2  # the fresh token is cached again


@respx.mock(base_url="https://api.github.com", assert_all_called=True)
async def test_401_after_refresh_is_permanent(respx_mock: respx.MockRouter) -> None:
    secret = "ghs_NeverInMessages000000000000000001"
    tokens = respx_mock.post(f"/app/installations/{INST}/access_tokens").respond(
        201, json={"token": secret, "expires_at": "2099-01-01T00:00:00Z"})
    api = respx_mock.get("/repos/acme/api").respond(401, json={"message": "Bad credentials"})
    gateway = GitHubGateway(42, demo_private_key(), mutation_interval=0)
    with pytest.raises(PermanentError) as caught:
        await gateway.get_repo(INST, REPO)
    assert (tokens.call_count, api.call_count) == (2, 2)
    assert str(caught.value) == (
        "GET /repos/acme/api: GitHub rejected a freshly issued installation token")
    assert secret not in repr(caught.value) and secret not in str(caught.value.__cause__)


async def test_uninstalled_and_suspended_installations_are_permanent() -> None:
    fake, gateway = _setup()
    fake.remove_installation(INST)
    with pytest.raises(PermanentError, match="installation not found"):
        await gateway.get_repo(INST, REPO)
    fake.add_installation(INST, "acme")
    fake.suspend_installation(INST)
    with pytest.raises(PermanentError, match="This installation has been suspended"):
        await gateway.get_repo(INST, REPO)


async def test_wrong_private_key_is_reported_as_a_jwt_problem() -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    other = rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()).decode()
    fake, _ = _setup()
    gateway = GitHubGateway(fake.app_id, other, fake.api_url, transport=fake, mutation_interval=0)
    with pytest.raises(PermanentError, match="rejected the app's JWT") as caught:
        await gateway.get_repo(INST, REPO)
    assert "PRIVATE KEY" not in str(caught.value)
    assert "PRIVATE KEY" not in repr(gateway) + repr(gateway.credentials)


async def test_gateways_do_not_share_tokens() -> None:
    # githubkit's default token cache is process-wide and ignores the API URL.
    first, gw1 = _setup()
    second, gw2 = _setup()
    await gw1.get_repo(INST, REPO)
    await gw2.get_repo(INST, REPO)
    assert (first.tokens_issued, second.tokens_issued) == (1, 1)


async def test_rejected_jwt_on_an_app_call_is_permanent() -> None:
    fake, _ = _setup()
    gateway = GitHubGateway(fake.app_id + 1, fake.private_key, fake.api_url, transport=fake)
    with pytest.raises(PermanentError, match="GET /app: GitHub rejected the app's JWT"):
        await gateway.get_app_slug()
