"""Reading an incident back from its rendered issue: what rendering kept comes back, so the
sections render the same again (a rebuilt record never rewrites the issue's history)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st
from tests.closure_story import CONFIG, at, opened, worked

from watchkeeper.record import Evidence, TimelineEntry
from watchkeeper.render.escape import clean
from watchkeeper.render.issue import render_body, render_sections
from watchkeeper.render.readback import (
    REBUILT_KIND,
    parse_evidence,
    parse_timeline,
    rebuilt_incident,
    unescape,
)
from watchkeeper.render.sections import evidence, timeline

NOW = at(hours=9)
HOSTILE = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=80) | \
    st.sampled_from(["@org/team #12 <b>x</b> [l](https://e.x) | a \\| b `c` ~d~ $e$ *f* _g_",
                     "1. list", "- item", "# head", "www.example.com gh-12 a://b", ""])
URLS = st.none() | st.sampled_from(["https://github.com/o/r/pull/1",
                                    "https://example.com/a b?x=(1)", "http://insecure/x"])


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(HOSTILE, HOSTILE.filter(lambda v: clean(v)), URLS), max_size=6))
def test_timeline_rows_read_back_render_the_same(rows: list[tuple[str, str, str | None]]
                                                 ) -> None:
    entries = [TimelineEntry(datetime(2026, 11, 27, 9, 0, tzinfo=UTC) + timedelta(minutes=i),
                             actor or "watchkeeper", "decision", text, url=url)
               for i, (actor, text, url) in enumerate(rows)]
    shown = timeline(entries)
    back, omitted = parse_timeline(shown)
    assert omitted == 0 and len(back) == len(entries)
    assert timeline(back) == shown


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(HOSTILE, URLS, st.lists(st.tuples(
    st.sampled_from(["run_id", "sha", "head_sha", "pr"]), HOSTILE.filter(lambda v: clean(v))),
    max_size=3)),
    max_size=5))
def test_evidence_rows_read_back_render_the_same(
        items: list[tuple[str, str | None, list[tuple[str, str]]]]) -> None:
    found = [Evidence(f"k{i}", "pull_request", title, url, tuple(ids),
                      datetime(2026, 11, 27, 9, i, tzinfo=UTC))
             for i, (title, url, ids) in enumerate(items)]
    shown = evidence(found)
    back, _ = parse_evidence(shown)
    assert evidence(back) == shown


def test_a_worked_incident_comes_back_whole() -> None:
    original = worked()
    body = render_body(original, CONFIG, at(hours=8))
    found = rebuilt_incident(body, number=1, repo=original.tracker_repo, state="open", now=NOW)
    assert found is not None
    incident = found.incident
    assert incident.issue_number == 1 and incident.status == "fixed"
    assert incident.milestones == original.milestones and incident.roles == original.roles
    assert incident.timeline[-1].kind == REBUILT_KIND
    # Kinds come back where the text says them; the rest are marked as read back.
    assert [e.kind for e in incident.timeline[:3]] == ["detected", "recorded", REBUILT_KIND]
    # The last occurrence keeps its replay key; the sections render as before.
    assert incident.timeline[0].key == original.occurrences.last_event_key
    again = render_sections(incident.replace(timeline=incident.timeline[:-1]), CONFIG,
                            at(hours=8))
    assert again == render_sections(original, CONFIG, at(hours=8))
    assert any("postmortem" in note for note in found.notes)


def test_the_issue_state_wins_over_stale_metadata() -> None:
    body = render_body(opened(), CONFIG, at())
    closed = rebuilt_incident(body, number=1, repo="octo-org/octo-repo", state="closed",
                              now=NOW)
    assert closed is not None and closed.incident.status == "closed"
    assert closed.incident.closed_at == NOW


def test_no_metadata_no_record() -> None:
    assert rebuilt_incident("just text", number=1, repo="o/r", state="open", now=NOW) is None
    assert rebuilt_incident("<!-- watchkeeper:meta {not json} -->", number=1, repo="o/r",
                            state="open", now=NOW) is None


def test_unescape_undoes_neutralise() -> None:
    from watchkeeper.render.escape import neutralise

    for text in ("@org/team #1 <x> & [a](b) \\ | *", "1. two", "# h"):
        assert unescape(neutralise(text)) == text
