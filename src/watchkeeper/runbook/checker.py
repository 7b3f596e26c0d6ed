"""Collecting config problems with their place in the file.

A Checker wraps one parsed config file; validators ask it to read values and it
records a located Problem for each one that is wrong, instead of raising.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from watchkeeper.runbook.yamldoc import Document, Path, Problem, format_path

T = TypeVar("T")


def did_you_mean(word: str, choices: tuple[str, ...] | list[str]) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f"did you mean {close[0]!r}?" if close else "expected one of: " + ", ".join(choices)


def show(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


@dataclass
class Checker:
    """Collects problems for one config file, located through the document's marks."""

    doc: Document | None
    source: str
    problems: list[Problem] = field(default_factory=list)

    def report(self, path: Path, message: str, hint: str = "", *, key: bool = False) -> None:
        line, column = self.doc.locate(path, key=key) if self.doc else (None, None)
        text = f"{format_path(path)}: {message}" if path else message
        self.problems.append(Problem(self.source, line, column, text, hint))

    def mapping(self, value: object, path: Path, allowed: tuple[str, ...] | None = None
                ) -> dict[str, Any] | None:
        """`value` as a str-keyed mapping, reporting unknown keys when `allowed` is given."""
        if not isinstance(value, Mapping):
            self.report(path, f"expected a mapping, got {show(value)}")
            return None
        ok = True
        for key in value:
            if not isinstance(key, str):
                self.report((*path, str(key)), f"key {show(key)} is not a string", key=True)
                ok = False
            elif allowed is not None and key not in allowed:
                self.report((*path, key), f"unknown key {key!r}", did_you_mean(key, allowed),
                            key=True)
                ok = False
        return dict(value) if ok else None

    def parse(self, value: object, path: Path, parser: Callable[[object], T]) -> T | None:
        try:
            return parser(value)
        except ValueError as exc:
            self.report(path, f"invalid value {show(value)}", str(exc))
            return None

    def choice(self, value: object, path: Path, choices: tuple[str, ...]) -> str | None:
        if isinstance(value, str) and value in choices:
            return value
        hint = did_you_mean(value, choices) if isinstance(value, str) else (
            "expected one of: " + ", ".join(choices))
        self.report(path, f"invalid value {show(value)}", hint)
        return None

    def strings(self, value: object, path: Path) -> list[str] | None:
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            self.report(path, f"expected a list of non-empty strings, got {show(value)}",
                        'write a YAML list, for example ["a", "b"]')
            return None
        return list(value)

    def integer(self, value: object, path: Path, minimum: int, maximum: int) -> int | None:
        if isinstance(value, bool) or not isinstance(value, int) or not (
                minimum <= value <= maximum):
            self.report(path, f"expected a whole number {minimum}..{maximum}, got {show(value)}")
            return None
        return value


