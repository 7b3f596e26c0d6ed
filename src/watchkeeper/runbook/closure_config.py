"""The `closure` config section: the Definition of Done check and the postmortem's paths.

Paths name files Watchkeeper commits to the repository, so they are held to a safe
shape: relative, no `..`, nothing under `.github/` (workflow files need a permission the
app does not ask for, and config files are not the postmortem's business).
"""

from __future__ import annotations

import re

from watchkeeper.runbook.checker import Checker, show
from watchkeeper.runbook.model import ClosureConfig
from watchkeeper.runbook.yamldoc import Path

KEYS = ("monitoring_hours", "on_unmet", "postmortem_on_not_planned", "postmortem_dir",
        "decision_log", "verification_items", "communication_items")
ON_UNMET = ("label", "reopen")
_SEGMENT = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,99}$")
_ITEM_KEY = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")


def parse_repo_path(value: object) -> str:
    """A relative file or directory path inside a repository, e.g. "docs/postmortems"."""
    if not isinstance(value, str) or not value.strip("/"):
        raise ValueError("expected a path such as docs/postmortems")
    parts = value.strip("/").split("/")
    if len(value) > 200 or any(not _SEGMENT.match(p) or p in (".", "..") for p in parts):
        raise ValueError("use relative paths of letters, digits, '_', '-' and '.' (no '..')")
    if parts[0].lower() == ".github":
        raise ValueError("paths under .github/ are not allowed")
    return "/".join(parts)


def _item_keys(value: object, path: Path, chk: Checker) -> tuple[str, ...] | None:
    if value is None:
        return ()
    keys = chk.strings(value, path)
    if keys is None:
        return None
    bad = [i for i, key in enumerate(keys) if not _ITEM_KEY.match(key)]
    for index in bad:
        chk.report((*path, index), f"invalid checklist key {show(keys[index])}",
                   "use a key from the checklist, e.g. validate_containment")
    return None if bad else tuple(keys)


def build_closure(data: object, chk: Checker) -> ClosureConfig | None:
    path: Path = ("closure",)
    spec = chk.mapping(data, path, KEYS)
    if spec is None:
        return None
    before = len(chk.problems)
    defaults = ClosureConfig()
    hours = chk.integer(spec.get("monitoring_hours", defaults.monitoring_hours),
                        (*path, "monitoring_hours"), 0, 24 * 30)
    on_unmet = chk.choice(spec.get("on_unmet", defaults.on_unmet), (*path, "on_unmet"), ON_UNMET)
    not_planned = spec.get("postmortem_on_not_planned", defaults.postmortem_on_not_planned)
    if not isinstance(not_planned, bool):
        chk.report((*path, "postmortem_on_not_planned"),
                   f"expected true or false, got {show(not_planned)}")
    folder = chk.parse(spec.get("postmortem_dir", defaults.postmortem_dir),
                       (*path, "postmortem_dir"), parse_repo_path)
    log = chk.parse(spec.get("decision_log", defaults.decision_log), (*path, "decision_log"),
                    parse_repo_path)
    verification = _item_keys(spec.get("verification_items", list(defaults.verification_items)),
                              (*path, "verification_items"), chk)
    communication = _item_keys(
        spec.get("communication_items", list(defaults.communication_items)),
        (*path, "communication_items"), chk)
    if len(chk.problems) != before or None in (hours, on_unmet, folder, log, verification,
                                                communication):
        return None
    return ClosureConfig(
        monitoring_hours=hours,  # type: ignore[arg-type]
        on_unmet="reopen" if on_unmet == "reopen" else "label",
        postmortem_on_not_planned=bool(not_planned),
        postmortem_dir=folder,  # type: ignore[arg-type]
        decision_log=log,  # type: ignore[arg-type]
        verification_items=verification,  # type: ignore[arg-type]
        communication_items=communication,  # type: ignore[arg-type]
    )
