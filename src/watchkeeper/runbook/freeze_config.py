"""Validation of the deployment freeze's settings: `freeze` (evidence/freeze.py).

Same contract as runbook/sections.py: the builder takes the merged section and a Checker,
and returns the typed value or None after reporting every problem.
"""

from __future__ import annotations

from watchkeeper.runbook.checker import Checker
from watchkeeper.runbook.yamldoc import Path

SEVERITIES = ("critical", "high", "medium", "low")


def build_freeze(data: object, chk: Checker) -> tuple[str, ...] | None:
    """`freeze.severities`: incidents of these severities freeze deployments on opening."""
    path: Path = ("freeze",)
    spec = chk.mapping(data, path, ("severities",))
    if spec is None:
        return None
    before = len(chk.problems)
    levels = chk.strings(spec.get("severities", []), (*path, "severities"))
    if levels is None:
        return None
    chosen = [chk.choice(level, (*path, "severities", i), SEVERITIES)
              for i, level in enumerate(levels)]
    if len(chk.problems) != before:
        return None
    return tuple(dict.fromkeys(level for level in chosen if level))
