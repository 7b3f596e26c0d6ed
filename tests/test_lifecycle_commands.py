"""Slash-command parsing: where commands are found, how arguments are read, what fails."""

from __future__ import annotations

import pytest

from watchkeeper.lifecycle.commands import (
    MAX_COMMANDS,
    BadCommand,
    Command,
    command_key,
    parse_commands,
    parse_fields,
    parse_line,
)


def test_commands_at_line_start_several_per_comment() -> None:
    text = "Thanks all.\n/ack on it\n  /severity HIGH\nnot /fixed here\n/ic @alice"
    assert parse_commands(text) == (
        Command("ack", "/ack on it", arg="on it"),
        Command("severity", "/severity HIGH", arg="high"),
        Command("ic", "/ic @alice", arg="alice"),
    )


def test_code_blocks_quotes_and_html_comments_are_not_commands() -> None:
    text = (
        "```\n/ack\n```\n"
        "~~~~\n/fixed\n```\n/contained\n~~~~\n"
        "> /severity low\n"
        "   > /ic @mallory\n"
        "    /fixed (indented code)\n"
        "<!-- /contained\n/ack -->\n"
        "`/ack` in a code span\n"
        "/decision keep the old key revoked\n"
    )
    assert parse_commands(text) == (
        Command("decision", "/decision keep the old key revoked",
                arg="keep the old key revoked"),
    )


def test_paths_and_urls_are_not_commands() -> None:
    assert parse_commands("/etc/passwd was read\nhttps://x.test/ack\n/usr/bin") == ()


def test_status_fields_with_robust_quoting() -> None:
    cmd = parse_line('/status impact="3 tenants \\"locked out\\"" mitigation=\'key revoked\' '
                     'next=\u201c10:30 UTC\u201d')
    assert cmd == Command("status", cmd.line, params=(
        ("impact", '3 tenants "locked out"'), ("mitigation", "key revoked"),
        ("next", "10:30 UTC")))
    # Keys in any order and case, bare words, typographic quotes closed by straight ones.
    cmd = parse_line('/status NEXT=11:00 Mitigation=\u201crolled back" impact=none')
    assert isinstance(cmd, Command)
    assert cmd.params == (("impact", "none"), ("mitigation", "rolled back"), ("next", "11:00"))


@pytest.mark.parametrize(("line", "problem"), [
    ('/status impact="x" mitigation="y"', 'missing next="..."'),
    ('/status impact="x mitigation="y" next="z"', "expected key"),
    ('/status impact="x" impact="y" mitigation="m" next="n"', "impact is given twice"),
    ('/status impact="x" mitigation="y" next="z" eta="soon"', "unknown field 'eta'"),
    ('/status impact="never closed', "a quoted value is not closed"),
    ("/status just some words", "expected key"),
    ('/customer-update scope="" status="s" next="n"', 'missing scope="..."'),
    ("/severity", "no severity given"),
    ("/severity urgent", "unknown severity 'urgent'"),
    ("/ic", "/ic takes exactly one @user or @org/team"),
    ("/ic @alice @bob", "/ic takes exactly one @user or @org/team"),
    ("/comms @not_a-valid!", "'@not_a-valid!' is not a GitHub user or team"),
    ("/decision", "/decision needs some text"),
    ("/rootcause   ", "/rootcause needs some text"),
])
def test_bad_arguments_come_back_with_usage(line: str, problem: str) -> None:
    bad = parse_line(line)
    assert isinstance(bad, BadCommand)
    assert problem in bad.problem
    assert bad.usage is not None and bad.usage.startswith("/" + bad.name)


def test_unknown_command_has_no_usage() -> None:
    assert parse_line("/deploy now") == BadCommand("deploy", "/deploy now",
                                                   "unknown command /deploy")


def test_aliases_teams_me_and_case() -> None:
    assert parse_line("/Customer_Update scope=a status=b next=c").name == "customer-update"
    assert parse_line("/root-cause expired cert").name == "rootcause"
    assert parse_line("/security @octo-org/security-team") == Command(
        "security", "/security @octo-org/security-team", arg="octo-org/security-team")
    assert parse_line("/mitigation me") == Command("mitigation", "/mitigation me", arg="me")
    assert parse_line("/severity severity:Low") == Command("severity", "/severity severity:Low",
                                                           arg="low")
    assert parse_line("/help me please") == Command("help", "/help me please")


def test_at_most_max_commands_per_comment() -> None:
    text = "\n".join(f"/decision number {n}" for n in range(MAX_COMMANDS + 5))
    assert len(parse_commands(text)) == MAX_COMMANDS


def test_parse_fields_rejects_unknown_and_reads_escapes() -> None:
    assert parse_fields('a="x\\\\y" b=\'\'', ("a", "b")) == {"a": "x\\y", "b": ""}
    with pytest.raises(ValueError, match="unknown field 'c'"):
        parse_fields("c=1", ("a",))


def test_command_key_depends_on_comment_and_text_only() -> None:
    assert command_key(5, "/ack") == command_key(5, "  /ack  ")
    assert command_key(5, "/ack") != command_key(6, "/ack")
    assert command_key(5, "/ack") != command_key(5, "/ack now")
    assert command_key(5, "/ack").startswith("cmd:5:")


def test_freeze_commands_belong_to_the_freeze_feature() -> None:
    from watchkeeper.lifecycle.commands import parse_commands
    from watchkeeper.lifecycle.replies import help_text

    parsed = parse_commands("/freeze rollout of the fix\n/ack\n/unfreeze")
    assert [p.name for p in parsed] == ["ack"]
    assert "/freeze" in help_text() and "/unfreeze" in help_text()
