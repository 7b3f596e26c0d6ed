"""Response figures from the stored records: MTTA, time to contain, MTTR. Pure.

Over a window, per severity, for the incidents detected in it: the mean and median time
from detection to acknowledged, contained and fixed (a step met only through a later
milestone counts at that milestone), and SLA compliance of the steps whose deadline is
known (stored by the SLA clock) and decided (met, or deadline passed).
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from watchkeeper.record import SEVERITIES, Incident
from watchkeeper.runbook.sla import format_duration
from watchkeeper.slaclock.steps import STEPS, step_met

DeadlinesOf = Callable[[Incident], Mapping[str, datetime | None]]


@dataclass(frozen=True, slots=True)
class StepFigure:
    count: int  # incidents that met the step
    mean: timedelta | None
    median: timedelta | None


@dataclass(frozen=True, slots=True)
class SeverityFigures:
    severity: str  # a severity, or "all"
    incidents: int
    steps: tuple[tuple[str, StepFigure], ...]  # (step, figure) in STEPS order
    sla_met: int  # steps met by their deadline
    sla_missed: int  # steps met late, or still pending past their deadline

    def step(self, name: str) -> StepFigure:
        return dict(self.steps)[name]

    @property
    def compliance(self) -> float | None:
        decided = self.sla_met + self.sla_missed
        return self.sla_met / decided if decided else None


@dataclass(frozen=True, slots=True)
class Figures:
    since: datetime
    until: datetime
    rows: tuple[SeverityFigures, ...]  # every severity, then "all"


def stored_deadlines(incident: Incident) -> Mapping[str, datetime | None]:
    return dict(incident.sla_clock.deadlines)


def step_outcome(incident: Incident, step: str, deadline: datetime | None,
                 now: datetime) -> str:
    """"met", "missed", "pending" (deadline ahead) or "none" (no deadline known)."""
    met = step_met(incident, step)
    if deadline is None:
        return "none"
    if met is not None:
        return "met" if met <= deadline else "missed"
    if incident.status == "closed":
        closed = incident.closed_at or now
        return "missed" if closed > deadline else "none"
    return "missed" if now > deadline else "pending"


def _figure(durations: list[timedelta]) -> StepFigure:
    if not durations:
        return StepFigure(0, None, None)
    seconds = [d.total_seconds() for d in durations]
    return StepFigure(len(seconds), timedelta(seconds=round(statistics.fmean(seconds))),
                      timedelta(seconds=round(statistics.median(seconds))))


def _row(severity: str, incidents: list[Incident], until: datetime,
         deadlines_of: DeadlinesOf) -> SeverityFigures:
    steps: list[tuple[str, StepFigure]] = []
    for step in STEPS:
        times = [met - i.detected_at for i in incidents if (met := step_met(i, step))]
        steps.append((step, _figure([t for t in times if t >= timedelta(0)])))
    outcomes = [step_outcome(i, step, deadlines_of(i).get(step), until)
                for i in incidents for step in STEPS]
    return SeverityFigures(severity, len(incidents), tuple(steps), outcomes.count("met"),
                           outcomes.count("missed"))


def figures(incidents: Iterable[Incident], since: datetime, until: datetime, *,
            deadlines_of: DeadlinesOf = stored_deadlines) -> Figures:
    """Figures for incidents detected in [since, until)."""
    window = [i for i in incidents if since <= i.detected_at < until]
    rows = [_row(level, [i for i in window if i.severity == level], until, deadlines_of)
            for level in SEVERITIES]
    rows.append(_row("all", window, until, deadlines_of))
    return Figures(since, until, tuple(rows))


# --- output -------------------------------------------------------------------------

COLUMNS = (("acknowledge", "MTTA"), ("contain", "Time to contain"), ("fix", "MTTR"))


def _span(value: timedelta | None) -> str:
    return format_duration(value) if value is not None else "n/a"


def _percent(value: float | None) -> str:
    return f"{value * 100:.0f}%" if value is not None else "n/a"


def figures_json(result: Figures) -> dict[str, Any]:
    """Plain JSON for tooling: seconds for durations, null when there is nothing to say."""
    def secs(value: timedelta | None) -> int | None:
        return int(value.total_seconds()) if value is not None else None

    return {
        "since": result.since.isoformat(),
        "until": result.until.isoformat(),
        "severities": {
            row.severity: {
                "incidents": row.incidents,
                **{step: {"count": row.step(step).count,
                          "mean_seconds": secs(row.step(step).mean),
                          "median_seconds": secs(row.step(step).median)}
                   for step in STEPS},
                "sla_met": row.sla_met,
                "sla_missed": row.sla_missed,
                "sla_compliance": row.compliance,
            }
            for row in result.rows
        },
    }


def _cells(row: SeverityFigures) -> list[str]:
    cells = [row.severity, str(row.incidents)]
    for step, _ in COLUMNS:
        fig = row.step(step)
        cells.append(f"{_span(fig.mean)} (n={fig.count})" if fig.count else "n/a")
    cells.append(_percent(row.compliance))
    return cells


HEADERS = ["Severity", "Incidents", *(name for _, name in COLUMNS), "SLA met"]


def figures_text(result: Figures) -> str:
    """An aligned plain-text table (means; n = incidents that reached the step)."""
    table = [HEADERS, *(_cells(row) for row in result.rows)]
    widths = [max(len(line[i]) for line in table) for i in range(len(HEADERS))]
    lines = [f"Incidents detected {result.since:%Y-%m-%d %H:%M} to "
             f"{result.until:%Y-%m-%d %H:%M} UTC", ""]
    lines += ["  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)).rstrip()
              for line in table]
    lines += ["", "MTTA: detection to acknowledged; MTTR: detection to fixed (means). "
              "SLA met: steps met by their deadline, of those decided."]
    return "\n".join(lines)


def figures_markdown(result: Figures) -> str:
    lines = ["| " + " | ".join(HEADERS) + " |", "|" + " --- |" * len(HEADERS)]
    lines += ["| " + " | ".join(_cells(row)) + " |" for row in result.rows]
    return "\n".join(lines)

