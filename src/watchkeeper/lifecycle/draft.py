"""A decision under construction: the record as it evolves, and what GitHub must see.

The responder decisions make several small changes per event (a tick, the milestone it
completes, the status label that follows). Each step edits a `Draft`; `decision()` turns
the result into one `Decision` with the issue sections, title and labels brought in line
with the record. Local mutation only: the functions using it stay pure.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from watchkeeper.actions import (
    AddLabels,
    AnyAction,
    Comment,
    EnsureLabels,
    LabelSpec,
    RemoveLabels,
    SetAssignees,
    UpdateIssueSections,
)
from watchkeeper.incident import Decision, status_label, update_sections
from watchkeeper.notify.plan import notifications_for
from watchkeeper.record import Incident, TimelineEntry
from watchkeeper.render.issue import SECTION_ORDER, render_title
from watchkeeper.runbook.model import Config

# Sections every visible change rewrites: the audit trail and the record's hidden copy.
ALWAYS = ("timeline", "meta")


@dataclass
class Draft:
    before: Incident
    incident: Incident
    config: Config
    now: datetime
    ensure: list[LabelSpec] = field(default_factory=list)
    remove: list[str] = field(default_factory=list)
    add: list[str] = field(default_factory=list)
    assignees: tuple[str, ...] | None = None
    sections: set[str] = field(default_factory=set)
    retitle: bool = False
    replies: list[Comment] = field(default_factory=list)
    notices: list[AnyAction] = field(default_factory=list)  # outgoing notifications, sent last

    @classmethod
    def start(cls, incident: Incident, config: Config, now: datetime) -> Draft:
        return cls(incident, incident, config, now)

    def log(self, at: datetime, actor: str, kind: str, text: str, *, key: str | None = None,
            url: str | None = None, data: tuple[tuple[str, str], ...] = ()) -> None:
        entry = TimelineEntry(at, actor, kind, text, url=url, key=key, data=data)
        self.incident = self.incident.replace(timeline=(*self.incident.timeline, entry))
        self.show()

    def show(self, *names: str) -> None:
        """Re-render these sections (and the timeline and metadata) from the record."""
        self.sections.update(ALWAYS, names)

    def done(self, *keys: str) -> None:
        self.incident = self.incident.with_done(*keys)

    def reply(self, body: str, key: str) -> None:
        inc = self.incident
        self.replies.append(Comment(inc.id, inc.tracker_repo, body, key=key))

    def notify(self, event: str, summary: str, key: str) -> None:
        """Tell the team's chat (the targets the repository's config names), once per key."""
        self.notices += notifications_for(self.incident, event, self.config, summary,
                                          now=self.now, key=key)

    def relabel(self, remove: tuple[str, ...] = (), add: tuple[str, ...] = (),
                specs: tuple[LabelSpec, ...] = ()) -> None:
        self.remove += [name for name in remove if name not in self.remove]
        self.add += [name for name in add if name not in self.add]
        self.ensure += [spec for spec in specs if spec not in self.ensure]

    def decision(self) -> Decision:
        self._follow_status()
        inc = self.incident
        actions: list[AnyAction] = []
        if self.ensure:
            actions.append(EnsureLabels(inc.tracker_repo, tuple(self.ensure)))
        removals = tuple(name for name in self.remove if name not in self.add)
        if removals:
            actions.append(RemoveLabels(inc.id, inc.tracker_repo, removals))
        if self.add:
            actions.append(AddLabels(inc.id, inc.tracker_repo, tuple(self.add)))
        if self.assignees is not None:
            actions.append(SetAssignees(inc.id, inc.tracker_repo, self.assignees))
        if self.sections or self.retitle:
            names = [name for name in SECTION_ORDER if name in self.sections]
            update = update_sections(inc, self.config, self.now, *names)
            if self.retitle:
                update = UpdateIssueSections(update.incident_id, update.repo, update.sections,
                                             title=render_title(inc))
            actions.append(update)
        actions += self.replies
        actions += self.notices
        return Decision(inc, tuple(actions))

    def _follow_status(self) -> None:
        """The `status:<phase>` label follows the record's status (closing is not ours)."""
        old, new = self.before.status, self.incident.status
        if old == new or "closed" in (old, new):
            return
        spec = status_label(new)
        self.relabel(remove=(f"status:{old}",), add=(spec.name,), specs=(spec,))
