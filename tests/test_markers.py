"""App-owned sections: people's text survives, hostile bodies never break splicing."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from watchkeeper.render.markers import (
    extract,
    incident_marker,
    meta_comment,
    names,
    read_incident_id,
    read_meta,
    section,
    splice,
)

BODY = (
    "Intro written by a person.\r\n\r\n"
    + section("summary", "old summary")
    + "\r\n\r\nA note a responder added between sections.\r\n\r\n"
    + section("sla", "old sla")
    + "\r\n\r\nTrailing words.\r\n"
)


def test_section_round_trip() -> None:
    assert section("sla", "x") == "<!-- watchkeeper:sla -->\n\nx\n\n<!-- /watchkeeper:sla -->"
    assert extract(section("sla", "a\nb"), "sla") == "a\nb"
    assert extract("no sections here", "sla") is None
    with pytest.raises(ValueError):
        section("Bad Name", "x")


def test_splice_replaces_only_the_named_sections() -> None:
    out = splice(BODY, {"summary": "new summary"})
    assert extract(out, "summary") == "new summary"
    assert extract(out, "sla") == "old sla"
    # Every byte outside the replaced content is unchanged, CRLF included.
    before, _, after = BODY.partition("old summary")
    assert out == before.rstrip("\r\n") + "\n\nnew summary\n\n" + after.lstrip("\r\n")
    assert out.startswith("Intro written by a person.\r\n\r\n<!-- watchkeeper:summary -->")
    assert "\r\n\r\nA note a responder added between sections.\r\n\r\n" in out
    assert out.endswith("<!-- /watchkeeper:sla -->\r\n\r\nTrailing words.\r\n")


def test_splice_appends_missing_sections_in_the_given_order() -> None:
    out = splice("Person's text.", {"timeline": "t", "evidence": "e"})
    assert out == "Person's text.\n\n" + section("timeline", "t") + "\n\n" + \
        section("evidence", "e") + "\n"
    assert names(out) == ("timeline", "evidence")
    assert splice(None, {"a": "x"}) == section("a", "x") + "\n"


def test_splice_is_idempotent() -> None:
    once = splice(BODY, {"summary": "s", "roles": "r"})
    assert splice(once, {"summary": "s", "roles": "r"}) == once


def test_fake_and_unbalanced_markers_are_ignored() -> None:
    hostile = (
        "<!-- /watchkeeper:sla --> stray close\n"
        "<!-- watchkeeper:sla --> stray open, never closed\n"
        "person's text\n"
        + section("sla", "real")
        + "\n"
    )
    assert extract(hostile, "sla") == "real"
    out = splice(hostile, {"sla": "new"})
    assert extract(out, "sla") == "new"
    assert "stray open, never closed\nperson's text\n" in out
    assert out.startswith("<!-- /watchkeeper:sla --> stray close\n")


def test_a_pasted_copy_of_a_section_picks_one_and_keeps_the_rest() -> None:
    body = section("sla", "ours") + "\n\n> quoted by a person:\n> " + section("sla", "copy")
    out = splice(body, {"sla": "updated"})
    assert extract(out, "sla") == "updated"
    assert "copy" in out


def test_crossing_sections_do_not_corrupt_and_do_not_grow() -> None:
    body = ("<!-- watchkeeper:a -->\nA\n<!-- watchkeeper:b -->\nB\n<!-- /watchkeeper:a -->\n"
            "C\n<!-- /watchkeeper:b -->\n")
    out = splice(body, {"a": "new-a", "b": "new-b"})
    assert extract(out, "a") == "new-a"
    assert extract(out, "b") == "new-b"
    again = splice(out, {"a": "new-a", "b": "new-b"})
    assert again == out


def test_meta_round_trip_and_cannot_close_the_comment() -> None:
    data = {"id": "INC-1", "title": "evil --> <b>", "n": -3}
    comment = meta_comment(data)
    assert comment.count("-->") == 1 and "<b>" not in comment
    assert read_meta("text\n" + comment + "\nmore") == data
    assert read_meta("nothing") is None
    assert read_meta("<!-- watchkeeper:meta {not json} -->") is None
    assert read_meta("<!-- watchkeeper:meta [1, 2] -->") is None
    assert read_meta("<!-- watchkeeper:meta {\"a\": 1}") is None  # unterminated
    assert read_meta("<!-- watchkeeper:meta " + "[" * 100000 + " -->") is None


def test_meta_prefers_the_meta_section_over_a_pasted_comment() -> None:
    fake = meta_comment({"id": "FAKE"})
    real = section("meta", meta_comment({"id": "REAL"}))
    assert read_meta(fake + "\n" + real) == {"id": "REAL"}


def test_incident_marker() -> None:
    marker = incident_marker("INC-2026-0007")
    assert marker == "<!-- watchkeeper:incident INC-2026-0007 -->"
    assert read_incident_id("x\n" + marker) == "INC-2026-0007"
    assert incident_marker("INC <b>-->1") == "<!-- watchkeeper:incident INCb--1 -->"
    assert read_incident_id("no marker") is None
    with pytest.raises(ValueError):
        incident_marker("<>")


FRAGMENTS = st.sampled_from([
    "<!-- watchkeeper:sla -->", "<!-- /watchkeeper:sla -->", "<!-- watchkeeper:summary -->",
    "<!-- /watchkeeper:summary -->", "<!-- watchkeeper:meta {", "}", " -->", "\n", "\r\n",
    "text", "@x", "<!--", "-->", "watchkeeper:", "`", "|",
])
HOSTILE = st.lists(FRAGMENTS, max_size=30).map("".join)


@given(HOSTILE)
def test_splice_never_crashes_and_always_yields_the_section(body: str) -> None:
    out = splice(body, {"sla": "S", "summary": "M"})
    assert extract(out, "sla") == "S"
    assert extract(out, "summary") == "M"
    assert splice(out, {"sla": "S", "summary": "M"}) == out
    read_meta(body)


@given(st.text())
def test_text_without_markers_only_grows_by_appended_sections(body: str) -> None:
    out = splice(body, {"sla": "S"})
    assert out.startswith(body)
    assert extract(out, "sla") == "S"
