"""The shipped documentation and schema stay true to the code."""

from __future__ import annotations

import re
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
import yaml

from watchkeeper.runbook.config import validate_text

ROOT = Path(__file__).resolve().parents[1]
CONFIG_DOC = ROOT / "docs" / "configuration.md"
MAPPING_DOC = ROOT / "docs" / "runbook-mapping.md"
README = ROOT / "README.md"
RUNBOOK_SECTIONS = (
    "Purpose", "Executive Summary", "Incident Severity and SLA", "Roles and Responsibilities",
    "Trigger Conditions", "Response Timeline (Checklist)", "Communication Templates",
    "Evidence and Audit Requirements", "Postmortem Template",
    "Recovery and Preventive Controls", "Definition of Done",
)


def packaged(name: str) -> str:
    return resources.files("watchkeeper.runbook").joinpath(name).read_text("utf-8")


def test_repository_schema_is_the_packaged_schema() -> None:
    shipped = (ROOT / "schema" / "watchkeeper.schema.json").read_text(encoding="utf-8")
    assert shipped == packaged("schema.json"), (
        "run: cp src/watchkeeper/runbook/schema.json schema/watchkeeper.schema.json")


def _keys(data: Any, found: set[str]) -> set[str]:
    if isinstance(data, dict):
        for key, value in data.items():
            found.add(str(key))
            _keys(value, found)
    return found


def test_every_config_key_is_documented() -> None:
    defaults = yaml.safe_load(packaged("defaults.yml"))
    keys = {k for section, value in defaults.items() if section != "checklist"
            for k in _keys({section: value}, set())}
    text = CONFIG_DOC.read_text(encoding="utf-8")
    missing = sorted(k for k in keys if f"`{k}`" not in text)
    assert not missing, f"docs/configuration.md does not mention {missing}"
    for section in defaults:
        assert f"## `{section}`" in text, f"docs/configuration.md has no section {section}"


def yaml_examples(path: Path) -> list[str]:
    return re.findall(r"```yaml\n(.*?)```", path.read_text(encoding="utf-8"), flags=re.S)


@pytest.mark.parametrize("index", range(len(yaml_examples(CONFIG_DOC))))
def test_configuration_examples_are_valid(index: int) -> None:
    example = yaml_examples(CONFIG_DOC)[index]
    assert [str(p) for p in validate_text(example, "example.yml")] == []


def test_relative_links_resolve() -> None:
    for doc in (README, CONFIG_DOC, MAPPING_DOC, ROOT / "docs" / "deploy.md"):
        for target in re.findall(r"\]\(([^)#]+)\)", doc.read_text(encoding="utf-8")):
            if "://" in target:
                continue
            assert (doc.parent / target).exists(), f"{doc.name} links to missing {target}"


def test_readme_justifies_every_permission_and_event() -> None:
    app = yaml.safe_load((ROOT / "app.yml").read_text(encoding="utf-8"))
    text = README.read_text(encoding="utf-8")
    permissions = text.split("## Permissions", 1)[1]
    rows = [line for line in permissions.splitlines() if line.startswith("| ")]
    for name, access in app["default_permissions"].items():
        label = name.replace("_", " ").lower()
        row = next((r for r in rows if label in r.lower() or f"`{name}`" in r), None)
        assert row is not None, f"README does not justify the {name} permission"
        assert f"| {access} |" in row, f"README shows the wrong access for {name}"
    for event in app["default_events"]:
        assert f"`{event}`" in permissions, f"README does not explain the {event} event"


def test_readme_documents_the_running_contract() -> None:
    text = README.read_text(encoding="utf-8")
    contract = text.split("## Running it: the contract", 1)[1].split("\n## ", 1)[0]
    for variable in ("APP_ID", "PRIVATE_KEY", "PRIVATE_KEY_PATH", "WEBHOOK_SECRET",
                     "GITHUB_API_URL", "DATABASE_URL", "WEBHOOK_PATH", "LOG_LEVEL",
                     "LOG_FORMAT", "HOST", "PORT"):
        assert f"`{variable}`" in contract
    for endpoint in ("POST $WEBHOOK_PATH", "GET /healthz", "GET /readyz", "GET /metrics"):
        assert f"`{endpoint}`" in contract
    for status in ("**202**", "**200**", "**401**", "**400**", "**413**", "**503**"):
        assert status in contract


def test_every_runbook_section_is_mapped() -> None:
    rows = [line for line in MAPPING_DOC.read_text(encoding="utf-8").splitlines()
            if line.startswith("| **")]
    assert [re.match(r"\| \*\*(.+?)\*\*", row).group(1) for row in rows] == list(
        RUNBOOK_SECTIONS)
