"""Loading the runbook configuration: defaults <- organisation <- repository.

Probot's convention: a repository's `.github/watchkeeper.yml` is merged over the
organisation's `<org>/.github` repository's `.github/watchkeeper.yml`, merged over
the built-in defaults (mappings merge, lists replace). Bad input never raises and
never stops an incident: each section is validated after every layer is merged in,
and a section a layer breaks keeps its previous value while the problem is reported
(one line naming file, line and a hint) in `Config.problems`.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from importlib import resources
from typing import Any

from watchkeeper.runbook.checker import Checker
from watchkeeper.runbook.model import Config
from watchkeeper.runbook.sections import BUILDERS, TOP_LEVEL, IncidentSettings
from watchkeeper.runbook.yamldoc import Document, Problem, parse

__all__ = ["Problem", "default_config", "load_config", "merge", "validate_text"]

DEFAULTS_SOURCE = "watchkeeper/runbook/defaults.yml"
ORG_SOURCE = "<org>/.github:.github/watchkeeper.yml"
REPO_SOURCE = ".github/watchkeeper.yml"


def merge(base: object, override: object) -> object:
    """Deep merge: mappings merge key by key; lists, scalars and null replace."""
    if isinstance(base, Mapping) and isinstance(override, Mapping):
        merged: dict[Any, Any] = dict(base)
        for key, value in override.items():
            merged[key] = merge(base[key], value) if key in base else value
        return merged
    return override


def _defaults_text() -> str:
    return resources.files("watchkeeper.runbook").joinpath("defaults.yml").read_text("utf-8")


@functools.cache
def _defaults_document() -> Document:
    doc, problems = parse(_defaults_text(), DEFAULTS_SOURCE)
    if doc is None or problems or not isinstance(doc.data, Mapping):
        raise RuntimeError(f"built-in defaults are broken: {problems}")
    return doc


def _layer(text: str | None, source: str) -> tuple[Document | None, list[Problem]]:
    """Parse one user file; a file that is not a mapping contributes nothing."""
    if text is None:
        return None, []
    doc, problems = parse(text, source)
    if doc is None or doc.data is None:
        return None, problems
    if not isinstance(doc.data, Mapping):
        chk = Checker(doc, source)
        chk.report((), "the file must be a mapping of settings",
                   "start with a key such as `rules:` or `severities:`")
        return None, [*problems, *chk.problems]
    chk = Checker(doc, source)
    chk.mapping(doc.data, (), TOP_LEVEL)  # report unknown top-level keys
    return doc, [*problems, *chk.problems]


def _load(layers: list[tuple[str | None, str]]) -> tuple[Config, list[Problem]]:
    defaults = _defaults_document()
    problems: list[Problem] = []
    docs: list[Document] = []
    for text, source in layers:
        doc, found = _layer(text, source)
        problems.extend(found)
        if doc is not None:
            docs.append(doc)
    values: dict[str, object] = {}
    for section, build in BUILDERS.items():
        raw: object = defaults.data[section]  # type: ignore[index]
        value = build(raw, Checker(defaults, DEFAULTS_SOURCE))
        if value is None:
            raise RuntimeError(f"built-in defaults are broken in section {section!r}")
        for doc in docs:
            if section not in doc.data:  # type: ignore[operator]
                continue
            candidate = merge(raw, doc.data[section])  # type: ignore[index]
            chk = Checker(doc, doc.source)
            built = build(candidate, chk)
            if built is None or chk.problems:
                kept = "the defaults" if raw is defaults.data[section] else (  # type: ignore[index]
                    "the organisation's settings")
                problems.extend(_note_fallback(chk.problems, section, kept))
                continue
            raw, value = candidate, built
        values[section] = value
    order = {source: index for index, (_, source) in enumerate(layers)}
    problems.sort(key=lambda p: (order.get(p.source, len(order)), p.line or 0, p.column or 0))
    incidents: IncidentSettings = values["incidents"]  # type: ignore[assignment]
    config = Config(
        sla=values["severities"],  # type: ignore[arg-type]
        rules=values["rules"],  # type: ignore[arg-type]
        roles=values["roles"],  # type: ignore[arg-type]
        checklist=values["checklist"],  # type: ignore[arg-type]
        calendar=values["calendar"],  # type: ignore[arg-type]
        incidents_repository=incidents.repository,
        occurrence_comment_minutes=incidents.occurrence_comment_minutes,
        reopen_window_days=incidents.reopen_window_days,
        notify=values["notify"],  # type: ignore[arg-type]
        reminder_at=values["sla"].reminder_at,  # type: ignore[attr-defined]
        review=values["review"],  # type: ignore[arg-type]
        closure=values["closure"],  # type: ignore[arg-type]
        freeze_severities=values["freeze"],  # type: ignore[arg-type]
        problems=tuple(str(p) for p in problems),
    )
    return config, problems


def _note_fallback(problems: list[Problem], section: str, kept: str) -> list[Problem]:
    """Say on the first problem of a section what applies instead."""
    if not problems:
        return problems
    first = problems[0]
    note = f"{section}: using {kept}"
    hint = f"{first.hint}; {note}" if first.hint else note
    return [Problem(first.source, first.line, first.column, first.message, hint), *problems[1:]]


@functools.cache
def default_config() -> Config:
    """The built-in runbook (cached: it never changes while running)."""
    return _load([])[0]


@functools.lru_cache(maxsize=256)
def load_config(
    org_yaml: str | None,
    repo_yaml: str | None,
    *,
    org_source: str = ORG_SOURCE,
    repo_source: str = REPO_SOURCE,
) -> Config:
    """Defaults <- org <- repo. Never raises for bad input; see Config.problems.

    Pure and cached on its arguments (the same texts give the same frozen Config).
    """
    if org_yaml is None and repo_yaml is None:
        return default_config()
    return _load([(org_yaml, org_source), (repo_yaml, repo_source)])[0]


def validate_text(text: str, source: str) -> list[Problem]:
    """Every problem in one config file, as if it were merged over the defaults."""
    return _load([(text, source)])[1]
