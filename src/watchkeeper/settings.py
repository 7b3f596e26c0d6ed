"""Settings: the one place that reads the environment.

``Settings.from_env(environ)`` takes the mapping as an argument (tests pass a
dict, the CLI passes ``os.environ``) and checks everything before start-up, so a
bad deployment fails with one line naming the variable instead of a traceback
at the first webhook. Secret values never appear in errors or in ``repr``.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from urllib.parse import urlsplit

import yaml
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey
from cryptography.hazmat.primitives.serialization import load_pem_private_key

from watchkeeper.notify.targets import NotifyTarget, TargetError, parse_targets

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
LOG_FORMATS = ("text", "json")
DEFAULT_GITHUB_API_URL = "https://api.github.com"
DEFAULT_DATABASE_URL = "sqlite:///watchkeeper.db"
DEFAULT_WEBHOOK_PATH = "/api/github/webhooks"
DEFAULT_HOST = "0.0.0.0"
DEFAULT_PORT = 3000
_SECRET_FIELDS = frozenset({"private_key", "webhook_secrets", "alerts_token",
                            "notify_targets"})
MIN_ALERTS_TOKEN = 16
_SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,99}$")


class SettingsError(ValueError):
    """A missing or invalid setting; the message is one line naming the variable."""


@dataclass(frozen=True, slots=True, repr=False)
class Settings:
    app_id: int
    private_key: str  # PEM text
    webhook_secrets: tuple[str, ...]
    github_api_url: str = DEFAULT_GITHUB_API_URL
    database_url: str = DEFAULT_DATABASE_URL
    webhook_path: str = DEFAULT_WEBHOOK_PATH
    log_level: str = "INFO"
    log_format: str = "text"
    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    mutation_interval: float = 1.0  # seconds between mutating GitHub calls per installation
    worker_concurrency: int = 4
    worker_max_attempts: int = 8
    app_slug: str | None = None  # "<slug>[bot]" is our own account; looked up when unset
    # Bearer token for the Alertmanager-compatible receiver (POST /api/alerts); None: off.
    alerts_token: str | None = None
    # Outgoing notification channels; repositories pick among them by name.
    notify_targets: tuple[NotifyTarget, ...] = ()
    # Seconds between SLA sweeps inside `serve` (0: none; run `watchkeeper sweep` from cron).
    sweep_interval: float = 60.0
    # How long a claimed delivery is held: a worker that died mid-delivery leaves it to be
    # claimed again after this long. Longer than any delivery's processing.
    worker_lease_seconds: float = 300.0
    # Seconds between reconcile passes inside `serve` (0: none; `watchkeeper reconcile`).
    reconcile_interval: float = 3600.0

    def __repr__(self) -> str:
        shown = ", ".join(
            f"{f.name}={'<hidden>' if f.name in _SECRET_FIELDS else repr(getattr(self, f.name))}"
            for f in fields(self)
        )
        return f"Settings({shown})"

    __str__ = __repr__

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> Settings:
        env = _Env(environ)
        return cls(
            app_id=env.integer("APP_ID", required=True, minimum=1),
            private_key=_private_key(env),
            webhook_secrets=_webhook_secrets(env),
            github_api_url=_http_url(env, "GITHUB_API_URL", DEFAULT_GITHUB_API_URL),
            database_url=_database_url(env),
            webhook_path=_webhook_path(env),
            log_level=env.choice("LOG_LEVEL", LOG_LEVELS, "INFO", upper=True),
            log_format=env.choice("LOG_FORMAT", LOG_FORMATS, "text"),
            host=env.text("HOST") or DEFAULT_HOST,
            port=env.integer("PORT", default=DEFAULT_PORT, minimum=1, maximum=65535),
            mutation_interval=env.number("MUTATION_INTERVAL", 1.0, maximum=60),
            worker_concurrency=env.integer("WORKER_CONCURRENCY", default=4, minimum=1, maximum=64),
            worker_max_attempts=env.integer(
                "WORKER_MAX_ATTEMPTS", default=8, minimum=1, maximum=100
            ),
            app_slug=_app_slug(env),
            alerts_token=_alerts_token(env),
            notify_targets=_notify_targets(env),
            sweep_interval=env.number("SWEEP_INTERVAL", 60.0, maximum=86400),
            worker_lease_seconds=_lease_seconds(env),
            reconcile_interval=env.number("RECONCILE_INTERVAL", 3600.0, maximum=7 * 86400),
        )


class _Env:
    """Typed reads with uniform one-line errors; empty values count as unset."""

    def __init__(self, environ: Mapping[str, str]) -> None:
        self._environ = environ

    def text(self, name: str) -> str | None:
        value = self._environ.get(name)
        if value is None or not value.strip():
            return None
        return value.strip()

    def integer(
        self,
        name: str,
        *,
        required: bool = False,
        default: int = 0,
        minimum: int | None = None,
        maximum: int | None = None,
    ) -> int:
        raw = self.text(name)
        if raw is None:
            if required:
                raise SettingsError(f"{name} is required")
            return default
        if not re.fullmatch(r"[0-9]+", raw):
            raise SettingsError(f"{name} must be a whole number")
        value = int(raw)
        if minimum is not None and value < minimum:
            raise SettingsError(f"{name} must be at least {minimum}")
        if maximum is not None and value > maximum:
            raise SettingsError(f"{name} must be at most {maximum}")
        return value

    def number(self, name: str, default: float, *, maximum: float) -> float:
        raw = self.text(name)
        if raw is None:
            return default
        try:
            value = float(raw)
        except ValueError:
            raise SettingsError(f"{name} must be a number of seconds") from None
        if not math.isfinite(value) or not 0 <= value <= maximum:
            raise SettingsError(f"{name} must be between 0 and {maximum:g} seconds")
        return value

    def choice(self, name: str, options: tuple[str, ...], default: str, upper: bool = False) -> str:
        raw = self.text(name)
        if raw is None:
            return default
        value = raw.upper() if upper else raw.lower()
        if value not in options:
            raise SettingsError(f"{name} must be one of {', '.join(options)}")
        return value


def _private_key(env: _Env) -> str:
    inline = env.text("PRIVATE_KEY")
    if inline is not None:
        name, text = "PRIVATE_KEY", _unescape_pem(inline)
    else:
        path = env.text("PRIVATE_KEY_PATH")
        if path is None:
            raise SettingsError("PRIVATE_KEY or PRIVATE_KEY_PATH is required")
        name = "PRIVATE_KEY_PATH"
        try:
            text = Path(path).expanduser().read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError) as exc:
            raise SettingsError(f"PRIVATE_KEY_PATH cannot be read ({type(exc).__name__})") from None
    try:
        key = load_pem_private_key(text.encode("utf-8"), password=None)
    except (ValueError, TypeError):
        raise SettingsError(f"{name} is not an unencrypted PEM private key") from None
    except Exception:  # cryptography raises its own types for unsupported algorithms
        raise SettingsError(f"{name} is not a usable PEM private key") from None
    if not isinstance(key, RSAPrivateKey):
        raise SettingsError(f"{name} must be an RSA key (GitHub App keys are RSA)")
    return text + "\n"


def _unescape_pem(value: str) -> str:
    """Accept the PEM itself, a one-line form with literal \\n, or base64 of the PEM."""
    if "-----BEGIN" not in value:
        try:
            decoded = base64.b64decode(value, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return value
        value = decoded.strip()
    if "\n" not in value and "\\n" in value:
        value = value.replace("\\n", "\n")
    return value.strip()


def _webhook_secrets(env: _Env) -> tuple[str, ...]:
    raw = env.text("WEBHOOK_SECRET")
    if raw is None:
        raise SettingsError("WEBHOOK_SECRET is required")
    secrets = tuple(part.strip() for part in raw.split(",") if part.strip())
    if not secrets:
        raise SettingsError("WEBHOOK_SECRET holds no secret")
    return secrets


def _http_url(env: _Env, name: str, default: str) -> str:
    raw = env.text(name)
    if raw is None:
        return default
    parts = urlsplit(raw)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise SettingsError(f"{name} must be an http:// or https:// URL")
    if parts.query or parts.fragment or parts.username or parts.password:
        raise SettingsError(f"{name} must not carry credentials, a query or a fragment")
    return raw.rstrip("/")


def _database_url(env: _Env) -> str:
    raw = env.text("DATABASE_URL")
    if raw is None:
        return DEFAULT_DATABASE_URL
    if raw.startswith("sqlite:///") and len(raw) > len("sqlite:///"):
        return raw
    parts = urlsplit(raw)
    if parts.scheme in ("postgresql", "postgres") and (parts.hostname or parts.query):
        return raw
    raise SettingsError(
        "DATABASE_URL must look like sqlite:///path/to/file.db or postgresql://host/dbname"
    )


def _webhook_path(env: _Env) -> str:
    raw = env.text("WEBHOOK_PATH")
    if raw is None:
        return DEFAULT_WEBHOOK_PATH
    if not re.fullmatch(r"/[A-Za-z0-9._~/-]*", raw) or "//" in raw:
        raise SettingsError("WEBHOOK_PATH must be a URL path starting with /")
    return raw.rstrip("/") or "/"


def _lease_seconds(env: _Env) -> float:
    value = env.number("WORKER_LEASE_SECONDS", 300.0, maximum=3600)
    if value < 1:
        raise SettingsError("WORKER_LEASE_SECONDS must be at least 1 second")
    return value


def _app_slug(env: _Env) -> str | None:
    raw = env.text("APP_SLUG")
    if raw is None:
        return None
    if not _SLUG.fullmatch(raw.lower()):
        raise SettingsError("APP_SLUG must be the app's URL name, e.g. watchkeeper")
    return raw.lower()


def _alerts_token(env: _Env) -> str | None:
    raw = env.text("ALERTS_TOKEN")
    if raw is None:
        return None
    if len(raw) < MIN_ALERTS_TOKEN or any(c.isspace() or not c.isprintable() for c in raw):
        raise SettingsError(f"ALERTS_TOKEN must be at least {MIN_ALERTS_TOKEN} printable "
                            "characters without spaces")
    return raw


def _notify_targets(env: _Env) -> tuple[NotifyTarget, ...]:
    """NOTIFY_TARGETS (JSON) or the file NOTIFY_CONFIG names (JSON or YAML)."""
    inline, path = env.text("NOTIFY_TARGETS"), env.text("NOTIFY_CONFIG")
    if inline is not None and path is not None:
        raise SettingsError("set NOTIFY_TARGETS or NOTIFY_CONFIG, not both")
    if inline is None and path is None:
        return ()
    name = "NOTIFY_TARGETS" if inline is not None else "NOTIFY_CONFIG"
    try:
        if inline is not None:
            data = json.loads(inline)
        else:
            data = yaml.safe_load(Path(str(path)).expanduser().read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise SettingsError(f"{name} cannot be read ({type(exc).__name__})") from None
    except (ValueError, RecursionError, yaml.YAMLError):
        raise SettingsError(f"{name} is not valid JSON or YAML") from None
    try:
        return parse_targets(data)
    except TargetError as exc:
        raise SettingsError(f"{name}: {exc}") from None
