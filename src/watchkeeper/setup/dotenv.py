"""Reading and writing ``.env`` files, without a dependency.

The dialect is the common one (python-dotenv, Docker Compose ``env_file``, Probot): ``KEY=value``,
optional ``export``, ``#`` comments, single quotes taken literally, double quotes with ``\\n``
escapes and possibly spanning lines (Probot writes the PEM that way). The written file holds
credentials, so it is created with mode 0600 and an existing file is never lost: it is kept as
``.env.bak`` (or ``.env.bak.N`` when that name is taken too).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path

_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_ASSIGN = re.compile(r"\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)", re.DOTALL)
_BARE = re.compile(r"[A-Za-z0-9_./:@+,-]*")
_ESCAPES = {"n": "\n", "r": "\r", "t": "\t", '"': '"', "\\": "\\", "$": "$"}


class DotenvError(ValueError):
    """A line that is neither blank, a comment, nor an assignment (reported with its number)."""


def load_dotenv(path: str | os.PathLike[str]) -> dict[str, str]:
    """Values from ``path``; an absent file gives ``{}`` (the environment alone is then used)."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    return parse_dotenv(text)


def parse_dotenv(text: str) -> dict[str, str]:
    values: dict[str, str] = {}
    lines = text.replace("\r\n", "\n").split("\n")  # not splitlines(): it splits on \x0b too
    i = 0
    while i < len(lines):
        number, line = i + 1, lines[i]
        i += 1
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        match = _ASSIGN.fullmatch(line)
        if match is None:
            raise DotenvError(f"line {number}: expected KEY=value")
        key, rest = match.group(1), match.group(2)
        if rest.startswith('"'):
            body = rest[1:]
            while (end := _closing_quote(body)) is None:
                if i >= len(lines):
                    raise DotenvError(f"line {number}: unterminated double quote")
                body += "\n" + lines[i]
                i += 1
            values[key] = _unescape(body[:end])
            _check_tail(body[end + 1 :], number)
        elif rest.startswith("'"):
            end = rest.find("'", 1)
            if end < 0:
                raise DotenvError(f"line {number}: unterminated single quote")
            values[key] = rest[1:end]
            _check_tail(rest[end + 1 :], number)
        else:
            values[key] = re.split(r"\s+#", rest, maxsplit=1)[0].strip()
    return values


def render_dotenv(values: Mapping[str, str], *, header: str = "") -> str:
    """One ``KEY=value`` line per entry; values needing it are double-quoted and escaped."""
    out = [f"# {line}".rstrip() for line in header.splitlines()]
    for key, value in values.items():
        if _KEY.fullmatch(key) is None:
            raise ValueError(f"not a valid variable name: {key!r}")
        out.append(f"{key}={_quote(value)}")
    return "\n".join(out) + "\n"


def write_env(
    path: str | os.PathLike[str], values: Mapping[str, str], *, header: str = ""
) -> Path | None:
    """Write ``values`` to ``path`` (mode 0600), keeping other keys of an existing file.

    Returns the backup's path when a file was already there.
    """
    target = Path(path)
    backup: Path | None = None
    merged = dict(values)
    if target.exists():
        old_text = target.read_text(encoding="utf-8")
        backup = _free_backup_name(target)
        _write_private(backup, old_text)
        try:
            kept = {k: v for k, v in parse_dotenv(old_text).items() if k not in values}
        except DotenvError:
            kept = {}  # unreadable: the backup holds it verbatim
        merged.update(kept)
    _write_private(target, render_dotenv(merged, header=header))
    return backup


def _write_private(path: Path, text: str) -> None:
    """Atomic replace through a 0600 temporary file, so the secret is never world-readable."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _free_backup_name(target: Path) -> Path:
    candidate = target.with_name(target.name + ".bak")
    n = 1
    while candidate.exists():
        candidate = target.with_name(f"{target.name}.bak.{n}")
        n += 1
    return candidate


def _closing_quote(body: str) -> int | None:
    escaped = False
    for index, char in enumerate(body):
        if escaped:
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == '"':
            return index
    return None


def _unescape(body: str) -> str:
    return re.sub(r"\\(.)", lambda m: _ESCAPES.get(m.group(1), "\\" + m.group(1)), body)


def _check_tail(tail: str, number: int) -> None:
    tail = tail.strip()
    if tail and not tail.startswith("#"):
        raise DotenvError(f"line {number}: unexpected text after the closing quote")


def _quote(value: str) -> str:
    if _BARE.fullmatch(value):
        return value
    escaped = (
        value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\r", "\\r")
    )
    return f'"{escaped}"'
