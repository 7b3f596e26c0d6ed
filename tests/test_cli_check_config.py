"""`watchkeeper check-config FILE`: every problem with its line and a hint; exit 0/1/2."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from watchkeeper.cli import main

FIXTURES = Path(__file__).parent / "fixtures" / "config"


@pytest.fixture
def in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    for name in ("basic", "empty", "invalid", "malformed", "evil"):
        shutil.copy(FIXTURES / f"{name}.yml", tmp_path / f"{name}.yml")
    return tmp_path


@pytest.mark.parametrize("name", ["basic", "empty"])
def test_a_clean_file_exits_0(in_tmp: Path, name: str, capsys: pytest.CaptureFixture[str]
                              ) -> None:
    assert main(["check-config", f"{name}.yml"]) == 0
    assert capsys.readouterr().out == f"{name}.yml: no problems\n"


def test_every_problem_is_printed_with_line_and_hint(
    in_tmp: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["check-config", "invalid.yml"]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert lines[:2] == [
        "invalid.yml:2:1: severitys: unknown key 'severitys'",
        "    hint: did you mean 'severities'?",
    ]
    located = [line for line in lines if line.startswith("invalid.yml:") and line[12].isdigit()]
    assert [line.split(":")[1] for line in located] == [
        "2", "6", "9", "12", "14", "16", "17", "23"]
    assert "invalid.yml:9:15: rules.codeql.severity: invalid value 'hgih'" in lines
    assert "    hint: did you mean 'high'?; rules: using the defaults" in lines
    assert lines[-1].startswith("invalid.yml: 8 problem(s)")


def test_broken_yaml_points_at_the_line(in_tmp: Path, capsys: pytest.CaptureFixture[str]
                                        ) -> None:
    assert main(["check-config", "malformed.yml"]) == 1
    first = capsys.readouterr().out.splitlines()[0]
    assert first.startswith("malformed.yml:4:")
    assert "invalid YAML" in first


def test_tags_that_would_run_code_are_refused_and_never_run(
    in_tmp: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["check-config", "evil.yml"]) == 1
    out = capsys.readouterr().out
    assert out.count("is not allowed") == 3
    assert not (in_tmp / "watchkeeper-evil-marker").exists()


def test_json_output(in_tmp: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check-config", "--format", "json", "invalid.yml"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["file"] == "invalid.yml" and report["ok"] is False
    assert report["problems"][0] == {
        "line": 2, "column": 1, "message": "severitys: unknown key 'severitys'",
        "hint": "did you mean 'severities'?"}
    assert len(report["problems"]) == 8


def test_unreadable_file_exits_2(in_tmp: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check-config", "nope.yml"]) == 2
    assert capsys.readouterr().err == (
        "watchkeeper check-config: nope.yml: cannot read (FileNotFoundError)\n")


def test_stdin(in_tmp: Path, capsys: pytest.CaptureFixture[str],
               monkeypatch: pytest.MonkeyPatch) -> None:
    import io

    monkeypatch.setattr("sys.stdin", io.StringIO("rules:\n  codeql:\n    enabled: maybe\n"))
    assert main(["check-config", "-"]) == 1
    assert capsys.readouterr().out.splitlines()[0] == (
        "<stdin>:3:14: rules.codeql.enabled: expected true or false, got 'maybe'")
