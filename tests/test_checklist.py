"""The runbook checklist renders as a GFM task list and ticks are read back by key."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from watchkeeper.render.checklist import item_marker, iter_items, parse_ticks, render_checklist
from watchkeeper.render.escape import ZWJ
from watchkeeper.runbook.config import default_config
from watchkeeper.runbook.model import ChecklistItem, ChecklistPhase

TASK_LINE = re.compile(r"^\s*- \[( |x)\] ")
PHASES = default_config().checklist
ALL_KEYS = [item.key for _, item in iter_items(PHASES)]


def test_every_item_line_is_a_gfm_task_item_with_its_key_after_the_text() -> None:
    out = render_checklist(PHASES, done={"assign_ic"})
    item_lines = [line for line in out.splitlines() if line.lstrip().startswith("- ")]
    assert len(item_lines) == len(ALL_KEYS) == 22
    for line, key in zip(item_lines, ALL_KEYS, strict=True):
        assert TASK_LINE.match(line), line
        assert line.endswith(f" <!-- wk:{key} -->"), line
    headings = [line for line in out.splitlines() if line.startswith("### ")]
    assert headings == [
        "### 0-15 minutes",
        "### 15-60 minutes",
        "### Containment (1-4 hours critical / 1-24 hours high)",
        "### Post-containment",
    ]


def test_exact_rendering_of_the_first_phases() -> None:
    out = render_checklist(PHASES, done={"assign_ic", "revoke_credentials"})
    assert out.split("\n\n### Containment")[0] == "\n".join([
        "### 0-15 minutes",
        "",
        "- [x] Open incident channel and assign IC. <!-- wk:assign_ic -->",
        "- [ ] Record start time, suspected scope, and current impact. <!-- wk:record_start -->",
        "- [ ] Set initial severity (`critical`, `high`, `medium`, `low`). "
        "<!-- wk:set_severity -->",
        "- [ ] Freeze risky deployments if incident is active in production. "
        "<!-- wk:freeze_deployments -->",
        "",
        "### 15-60 minutes",
        "",
        "- [ ] Assign mitigation owner and security owner. <!-- wk:assign_owners -->",
        "- [ ] Confirm blast radius: <!-- wk:blast_radius -->",
        "  - [ ] affected tenants/users <!-- wk:blast_radius_tenants -->",
        "  - [ ] affected endpoints/services <!-- wk:blast_radius_endpoints -->",
        "  - [ ] possible data exposure <!-- wk:blast_radius_data -->",
        "- [ ] Choose containment path: <!-- wk:containment_path -->",
        "  - [x] revoke key/token <!-- wk:revoke_credentials -->",
        "  - [ ] disable feature/route <!-- wk:disable_feature -->",
        "  - [ ] roll back deployment <!-- wk:roll_back -->",
        "  - [ ] block malicious source patterns <!-- wk:block_sources -->",
    ])


def test_parse_round_trip() -> None:
    done = {"assign_ic", "blast_radius_data", "deploy_fix"}
    ticks = parse_ticks(render_checklist(PHASES, done))
    assert ticks == {key: key in done for key in ALL_KEYS}


def test_people_editing_around_items_keeps_ticks_readable() -> None:
    edited = "\r\n".join([
        "My own notes first.",
        "- [X] Opened #incident-42 channel, IC is me <!-- wk:assign_ic -->",
        "* [ ] reworded entirely <!--wk:record_start-->",
        "    - [x] indented deeper by the UI <!-- wk:revoke_credentials -->",
        "- [x] an item people added themselves",
        "- [ ] duplicate key later <!-- wk:assign_ic -->",
        "```",
        "- [x] inside a code block <!-- wk:deploy_fix -->",
        "```",
        "> - [x] quoted <!-- wk:roll_back -->",
        "- [x]no space <!-- wk:set_severity -->",
    ])
    assert parse_ticks(edited) == {
        "assign_ic": True,
        "record_start": False,
        "revoke_credentials": True,
    }
    assert parse_ticks(None) == {}


def test_untrusted_item_text_is_neutralised() -> None:
    phases = (ChecklistPhase("p", "Phase @team", (
        ChecklistItem("a", "Ping @org/sec about #12 <script>"),
        ChecklistItem("b", "sub", parent="a"),
        ChecklistItem("c", "orphan sub-item", parent="missing"),
    )),)
    out = render_checklist(phases)
    assert out == "\n".join([
        f"### Phase @{ZWJ}team",
        "",
        f"- [ ] Ping @{ZWJ}org/sec about #{ZWJ}12 &lt;script&gt; <!-- wk:a -->",
        "  - [ ] sub <!-- wk:b -->",
        "- [ ] orphan sub-item <!-- wk:c -->",
    ])
    assert item_marker("Key.With Stuff") == "<!-- wk:keywithstuff -->"


@given(st.sets(st.sampled_from(ALL_KEYS)))
def test_any_tick_set_round_trips(done: set[str]) -> None:
    assert {k for k, v in parse_ticks(render_checklist(PHASES, done)).items() if v} == done
