"""The SLA clock's pure logic: timers, breaches, overrides, the weekly review, figures.

No I/O and no clock reads: the sweep (watchkeeper/features/slaclock.py) hands in the
record, the config, `now` and what it learnt from GitHub, and applies the Decision.
"""

from __future__ import annotations

from watchkeeper.slaclock.effects import BREACHED_LABEL, due_effects, fired_effects
from watchkeeper.slaclock.figures import Figures, figures, figures_json, figures_text
from watchkeeper.slaclock.override import LabelRemoval, parse_label_removal, record_override
from watchkeeper.slaclock.release import Release, next_release
from watchkeeper.slaclock.steps import deadlines_for, needs_check, needs_release

__all__ = [
    "BREACHED_LABEL",
    "Figures",
    "LabelRemoval",
    "Release",
    "deadlines_for",
    "due_effects",
    "figures",
    "figures_json",
    "figures_text",
    "fired_effects",
    "needs_check",
    "needs_release",
    "next_release",
    "parse_label_removal",
    "record_override",
]
