"""Dependencies point one way: the runbook's logic never does I/O or reads the clock.

Parses the imports of every pure module and fails if one reaches for a network,
database, web framework or event loop library, so the decisions stay testable to
the minute without a network.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "watchkeeper"
PURE = ["signals", "runbook", "render", "incident.py", "actions.py", "record.py", "routing.py",
        "lifecycle", "declare", "alarms", "notify", "slaclock", "evidence", "closure"]
FORBIDDEN = {"githubkit", "httpx", "starlette", "uvicorn", "sqlite3", "psycopg", "asyncio",
             "socket", "urllib.request", "requests", "watchkeeper.github", "watchkeeper.store",
             "watchkeeper.server", "watchkeeper.worker", "watchkeeper.clock"}
CLOCK_CALLS = {"now", "utcnow", "today", "time", "monotonic"}


def _pure_files() -> list[Path]:
    files: list[Path] = []
    for name in PURE:
        path = SRC / name
        if path.is_dir():
            files.extend(sorted(path.rglob("*.py")))
        elif path.exists():
            files.append(path)
    return files


def _imports(tree: ast.AST) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


@pytest.mark.parametrize("path", _pure_files(), ids=lambda p: str(p.relative_to(SRC)))
def test_pure_module_imports_no_io(path: Path) -> None:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    bad = {
        name
        for name in _imports(tree)
        for forbidden in FORBIDDEN
        if name == forbidden or name.startswith(forbidden + ".")
    }
    assert not bad, f"{path.name} imports {sorted(bad)}"


@pytest.mark.parametrize("path", _pure_files(), ids=lambda p: str(p.relative_to(SRC)))
def test_pure_module_never_reads_the_clock(path: Path) -> None:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in CLOCK_CALLS
            and isinstance(node.func.value, ast.Name)
            and node.func.value.id in {"datetime", "date", "time"}
        ):
            pytest.fail(f"{path.name}:{node.lineno} reads the clock")


def test_there_are_pure_modules_to_check() -> None:
    assert len(_pure_files()) >= 5
