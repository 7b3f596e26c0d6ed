"""The runbook's communication templates, filled in with neutralised values."""

from __future__ import annotations

from datetime import UTC, datetime

from watchkeeper.render.comments import customer_update, internal_update_line
from watchkeeper.render.escape import ZWJ


def test_internal_update_line_follows_the_runbook_template() -> None:
    line = internal_update_line("INC-2026-0007", "critical", "Leaked token for payments API",
                                "Token revoked, rotating", datetime(2026, 3, 6, 18, 0, tzinfo=UTC))
    assert line == ("Incident INC-2026-0007 | Severity: critical | Impact: Leaked token for "
                    "payments API | Mitigation: Token revoked, rotating | Next update: "
                    "2026-03-06 18:00 UTC")


def test_internal_update_values_cannot_add_fields_or_mentions() -> None:
    line = internal_update_line("INC-1", "high", "a | Severity: low @org/all", None, "in 1h\n#2")
    assert line == (f"Incident INC-1 | Severity: high | Impact: a \\| Severity: low @{ZWJ}org/all"
                    f" | Mitigation: not stated | Next update: in 1h #{ZWJ}2")


def test_customer_update_follows_the_runbook_template() -> None:
    text = customer_update("checkout for EU customers", "monitoring the fix",
                           datetime(2026, 3, 7, 9, 30, tzinfo=UTC))
    assert text == ("We identified an issue affecting checkout for EU customers. We have contained "
                    "the issue and are implementing a permanent fix. Current status: monitoring "
                    "the fix. Next update by 2026-03-07 09:30 UTC.")
    assert customer_update("<b>x</b>", "", "tomorrow") == (
        "We identified an issue affecting &lt;b&gt;x&lt;/b&gt;. We have contained the issue and "
        "are implementing a permanent fix. Current status: under investigation. Next update by "
        "tomorrow."
    )
