"""Settings.from_env: every setting, every refusal in one line naming the variable."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from watchkeeper.settings import Settings, SettingsError


def _pem(key: object) -> str:
    return key.private_bytes(  # type: ignore[attr-defined]
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


@pytest.fixture(scope="module")
def rsa_pem() -> str:
    return _pem(rsa.generate_private_key(public_exponent=65537, key_size=2048))


@pytest.fixture
def env(rsa_pem: str) -> dict[str, str]:
    return {"APP_ID": "12345", "PRIVATE_KEY": rsa_pem, "WEBHOOK_SECRET": "s3cr3t-value-1"}


def _error(environ: dict[str, str]) -> str:
    with pytest.raises(SettingsError) as info:
        Settings.from_env(environ)
    message = str(info.value)
    assert "\n" not in message
    return message


def test_minimal_environment_gets_the_documented_defaults(env: dict[str, str]) -> None:
    s = Settings.from_env(env)
    assert s.app_id == 12345
    assert s.webhook_secrets == ("s3cr3t-value-1",)
    assert s.github_api_url == "https://api.github.com"
    assert s.database_url == "sqlite:///watchkeeper.db"
    assert s.webhook_path == "/api/github/webhooks"
    assert (s.log_level, s.log_format) == ("INFO", "text")
    assert (s.host, s.port) == ("0.0.0.0", 3000)
    assert s.mutation_interval == 1.0
    assert (s.worker_concurrency, s.worker_max_attempts) == (4, 8)
    assert s.app_slug is None
    assert s.private_key.startswith("-----BEGIN PRIVATE KEY-----\n")


def test_every_variable_is_read(env: dict[str, str]) -> None:
    env.update(
        GITHUB_API_URL="https://ghe.example.com/api/v3/",
        DATABASE_URL="postgresql://wk@db.internal/watchkeeper",
        WEBHOOK_PATH="/hooks/github/",
        LOG_LEVEL="debug",
        LOG_FORMAT="JSON",
        HOST="127.0.0.1",
        PORT="8080",
        MUTATION_INTERVAL="2.5",
        WORKER_CONCURRENCY="2",
        WORKER_MAX_ATTEMPTS="5",
        APP_SLUG="Watchkeeper-Dev",
    )
    s = Settings.from_env(env)
    assert s.github_api_url == "https://ghe.example.com/api/v3"
    assert s.database_url == "postgresql://wk@db.internal/watchkeeper"
    assert s.webhook_path == "/hooks/github"
    assert (s.log_level, s.log_format) == ("DEBUG", "json")
    assert (s.host, s.port) == ("127.0.0.1", 8080)
    assert s.mutation_interval == 2.5
    assert (s.worker_concurrency, s.worker_max_attempts) == (2, 5)
    assert s.app_slug == "watchkeeper-dev"


def test_webhook_secret_list_for_rotation(env: dict[str, str]) -> None:
    env["WEBHOOK_SECRET"] = " new-secret-2 , old-secret-1 ,"
    assert Settings.from_env(env).webhook_secrets == ("new-secret-2", "old-secret-1")
    env["WEBHOOK_SECRET"] = " , "
    assert _error(env) == "WEBHOOK_SECRET holds no secret"


def test_private_key_forms(env: dict[str, str], rsa_pem: str, tmp_path: Path) -> None:
    expected = rsa_pem.strip() + "\n"
    env["PRIVATE_KEY"] = rsa_pem.strip().replace("\n", "\\n")  # one line, as in .env files
    assert Settings.from_env(env).private_key == expected
    env["PRIVATE_KEY"] = base64.b64encode(rsa_pem.encode()).decode()
    assert Settings.from_env(env).private_key == expected
    del env["PRIVATE_KEY"]
    key_file = tmp_path / "app.pem"
    key_file.write_text(rsa_pem, encoding="utf-8")
    env["PRIVATE_KEY_PATH"] = str(key_file)
    assert Settings.from_env(env).private_key == expected


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"APP_ID": ""}, "APP_ID is required"),
        ({"APP_ID": "12a"}, "APP_ID must be a whole number"),
        ({"APP_ID": "0"}, "APP_ID must be at least 1"),
        ({"PRIVATE_KEY": ""}, "PRIVATE_KEY or PRIVATE_KEY_PATH is required"),
        ({"WEBHOOK_SECRET": ""}, "WEBHOOK_SECRET is required"),
        ({"GITHUB_API_URL": "ftp://example.com"},
         "GITHUB_API_URL must be an http:// or https:// URL"),
        ({"GITHUB_API_URL": "https://"}, "GITHUB_API_URL must be an http:// or https:// URL"),
        ({"GITHUB_API_URL": "https://user:pw@ghe.example.com/api/v3"},
         "GITHUB_API_URL must not carry credentials, a query or a fragment"),
        ({"DATABASE_URL": "mysql://db/wk"},
         "DATABASE_URL must look like sqlite:///path/to/file.db or postgresql://host/dbname"),
        ({"DATABASE_URL": "sqlite:///"},
         "DATABASE_URL must look like sqlite:///path/to/file.db or postgresql://host/dbname"),
        ({"WEBHOOK_PATH": "api/github"}, "WEBHOOK_PATH must be a URL path starting with /"),
        ({"WEBHOOK_PATH": "/a b"}, "WEBHOOK_PATH must be a URL path starting with /"),
        ({"LOG_LEVEL": "verbose"},
         "LOG_LEVEL must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL"),
        ({"LOG_FORMAT": "xml"}, "LOG_FORMAT must be one of text, json"),
        ({"PORT": "70000"}, "PORT must be at most 65535"),
        ({"PORT": "http"}, "PORT must be a whole number"),
        ({"MUTATION_INTERVAL": "-1"}, "MUTATION_INTERVAL must be between 0 and 60 seconds"),
        ({"MUTATION_INTERVAL": "nan"}, "MUTATION_INTERVAL must be between 0 and 60 seconds"),
        ({"MUTATION_INTERVAL": "soon"}, "MUTATION_INTERVAL must be a number of seconds"),
        ({"WORKER_CONCURRENCY": "0"}, "WORKER_CONCURRENCY must be at least 1"),
        ({"APP_SLUG": "bad slug!"}, "APP_SLUG must be the app's URL name, e.g. watchkeeper"),
    ],
)
def test_invalid_settings_fail_in_one_line(
    env: dict[str, str], change: dict[str, str], message: str
) -> None:
    env.update(change)
    assert _error(env) == message


def test_private_key_errors_name_the_variable_and_never_echo_it(
    env: dict[str, str], rsa_pem: str, tmp_path: Path
) -> None:
    env["PRIVATE_KEY"] = "-----BEGIN PRIVATE KEY-----\nnot-really-a-key-material\n"
    message = _error(env)
    assert message == "PRIVATE_KEY is not an unencrypted PEM private key"
    assert "not-really" not in message

    env["PRIVATE_KEY"] = _pem(ec.generate_private_key(ec.SECP256R1()))
    assert _error(env) == "PRIVATE_KEY must be an RSA key (GitHub App keys are RSA)"

    del env["PRIVATE_KEY"]
    env["PRIVATE_KEY_PATH"] = str(tmp_path / "missing.pem")
    assert _error(env) == "PRIVATE_KEY_PATH cannot be read (FileNotFoundError)"


def test_repr_hides_secrets(env: dict[str, str], rsa_pem: str) -> None:
    s = Settings.from_env(env)
    shown = repr(s) + str(s)
    assert "s3cr3t-value-1" not in shown
    assert "PRIVATE KEY" not in shown
    assert "private_key=<hidden>" in shown
    assert "webhook_secrets=<hidden>" in shown
    assert "app_id=12345" in shown


def test_settings_are_frozen(env: dict[str, str]) -> None:
    s = Settings.from_env(env)
    with pytest.raises(AttributeError):
        s.port = 1  # type: ignore[misc]
