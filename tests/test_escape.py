"""Untrusted payload text can neither mention, reference, link nor inject markup."""

from __future__ import annotations

import html
import re
import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from watchkeeper.render.escape import (
    ZWJ,
    clean,
    code,
    inline,
    is_handle,
    link,
    mention,
    neutralise,
    plain,
    safe_url,
)

# Text biased towards markup and trigger characters, plus arbitrary unicode.
_TOKENS = [*"@#/:.-_*`[]()<>!&|~$\\\n\r\t =+1ghwGHW ", "www.", "https://", "GH-", "org/team",
           "\u202e", "\u200d", "\x00", "é", "👍", "&amp;", "1. "]
MARKUP = st.lists(st.sampled_from(_TOKENS), max_size=40).map("".join)
ANY_TEXT = st.one_of(st.text(), MARKUP)


def _escaped(out: str, index: int) -> bool:
    """Whether out[index] is preceded by an odd number of backslashes."""
    count = 0
    while index - count - 1 >= 0 and out[index - count - 1] == "\\":
        count += 1
    return count % 2 == 1


def _visible(out: str) -> str:
    """What a reader sees: escapes undone, entities decoded, joiners gone."""
    return html.unescape(re.sub(r"\\(.)", r"\1", out.replace(ZWJ, "")))


# --- examples --------------------------------------------------------------------

@pytest.mark.parametrize(("raw", "expected"), [
    ("@octocat", f"@{ZWJ}octocat"),
    ("ping @org/team now", f"ping @{ZWJ}org/team now"),
    ("fixes #123", f"fixes #{ZWJ}123"),
    ("octo/repo#1", f"octo/repo#{ZWJ}1"),
    ("see GH-42", f"see GH{ZWJ}-42"),
    ("<img src=x onerror=alert(1)>", "&lt;img src=x onerror=alert(1)&gt;"),
    ("[x](javascript:alert(1))", "\\[x\\](javascript:alert(1))"),
    ("![img](https://e.vil/p.png)", f"!\\[img\\](https{ZWJ}:{ZWJ}//e.vil/p.png)"),
    ("a`b", "a\\`b"),
    ("a|b", "a\\|b"),
    ("**bold** _it_ ~~s~~", "\\*\\*bold\\*\\* \\_it\\_ \\~\\~s\\~\\~"),
    ("line1\nline2\r\n\tline3", "line1 line2 line3"),
    ("# heading", f"\\#{ZWJ} heading"),
    ("- item", "\\- item"),
    ("1. item", "1\\. item"),
    ("> quote", "&gt; quote"),
    ("www.evil.com", f"www{ZWJ}.evil.com"),
    ("&#64;octocat", f"&amp;#{ZWJ}64;octocat"),
    ("$\\color{red}x$", "\\$\\\\color{red}x\\$"),
    ("user@example.com", f"user@{ZWJ}example.com"),
    ("\u202eevil\u200b\x00", "evil"),
    ("", ""),
])
def test_neutralise_examples(raw: str, expected: str) -> None:
    assert neutralise(raw) == expected


def test_long_text_is_capped_with_an_ellipsis() -> None:
    out = neutralise("a" * 500, max_len=20)
    assert out == "a" * 19 + "…"
    assert neutralise("b" * 20, max_len=20) == "b" * 20


def test_unicode_survives() -> None:
    assert neutralise("Überprüfung 🔐 失败") == "Überprüfung 🔐 失败"


def test_plain_keeps_text_literal_but_breaks_triggers() -> None:
    assert plain("Secret *scan* failed for @octo #5\non `main`") == (
        f"Secret *scan* failed for @{ZWJ}octo #{ZWJ}5 on `main`"
    )
    assert len(plain("x" * 1000, max_len=50)) == 50


@pytest.mark.parametrize(("raw", "expected"), [
    ("main", "`main`"),
    ("a`b", "``a`b``"),
    ("`edge", "`` `edge ``"),
    ("x``y", "```x``y```"),
    ("", ""),
    ("two\nlines", "`two lines`"),
])
def test_code_spans(raw: str, expected: str) -> None:
    assert code(raw) == expected


def test_code_in_a_table_escapes_pipes() -> None:
    assert code("a|b", table=True) == "`a\\|b`"
    assert code("a|b") == "`a|b`"


def test_inline_keeps_code_spans_and_spacing() -> None:
    assert inline("Set severity (`critical`, `high`).") == "Set severity (`critical`, `high`)."
    assert inline("ping @team `x` *y*") == f"ping @{ZWJ}team `x` \\*y\\*"


def test_link_only_for_https() -> None:
    assert link("run", "https://github.com/o/r/actions/runs/1") == (
        "[run](https://github.com/o/r/actions/runs/1)"
    )
    assert link("run", "javascript:alert(1)") == "run"
    assert link("run", "http://example.com") == "run"
    assert link("run", "https://user:pw@example.com/") == "run"
    assert link("run", "https://exa mple.com/") == "run"
    assert link("[x](y)", None) == "\\[x\\](y)"
    # Parentheses, quotes and pipes cannot end the destination or break a table.
    assert link("a", "https://e.com/p(1)'|") == "[a](https://e.com/p%281%29%27%7C)"
    assert safe_url("https://e.com/ü") == "https://e.com/%C3%BC"


def test_mentions_only_for_valid_handles() -> None:
    assert mention("octocat") == "@octocat"
    assert mention("@my-org/security-team") == "@my-org/security-team"
    assert mention("bad login!") == "bad login!"
    assert mention("@evil <b>") == f"@{ZWJ}evil &lt;b&gt;"
    assert is_handle("a-b") and not is_handle("-ab") and not is_handle("a--b")


# --- properties ------------------------------------------------------------------

@settings(max_examples=400)
@given(ANY_TEXT, st.integers(min_value=1, max_value=300))
def test_neutralise_properties(raw: str, max_len: int) -> None:
    out = neutralise(raw, max_len=max_len)
    assert "\n" not in out and "\r" not in out
    assert "<" not in out and ">" not in out
    assert not any(unicodedata.category(ch) == "Cc" for ch in out)
    assert not any(unicodedata.category(ch) == "Cf" and ch != ZWJ for ch in out)
    assert re.search(r"@(?!\u200d)", out) is None
    assert re.search(r"@[A-Za-z0-9]", out) is None
    assert re.search(r"#(?!\u200d)", out) is None
    assert re.search(r"(?i)gh-\d", out) is None
    assert "://" not in out and "www." not in out.lower()
    for i, ch in enumerate(out):
        if ch in "[]`*_|~$":
            assert _escaped(out, i), (out, i)
        if ch == "&":
            assert re.match(r"&(amp|lt|gt);", out[i:]), (out, i)
    visible = clean(raw)
    if len(visible) > max_len:
        visible = visible[: max_len - 1].rstrip() + "…"
    assert _visible(out) == visible


@given(ANY_TEXT)
def test_code_cannot_be_broken_out_of(raw: str) -> None:
    out = code(raw)
    if not out:
        assert clean(raw) == ""
        return
    fence = re.match(r"`+", out)
    assert fence is not None
    inner = out[len(fence.group()) : -len(fence.group())]
    assert out.endswith(fence.group())
    assert fence.group() not in inner  # no run inside as long as the fence
    assert "\n" not in out


@given(ANY_TEXT, ANY_TEXT)
def test_link_never_yields_another_scheme(text: str, url: str) -> None:
    out = link(text, url)
    if out.startswith("[") and out.endswith(")"):
        dest = out[out.rindex("](") + 2 : -1]
        assert dest.startswith("https://") or dest.lower().startswith("https://")
        assert not re.search(r"[\s()<>|'\"`]", dest)
