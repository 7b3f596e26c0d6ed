"""The runbook's roles, set by commands, with defaults from config; assignees follow them.

The issue's assignees follow the Incident Commander and the Mitigation Owner: the person
who stops holding those roles is unassigned, the new holder assigned, and anyone else a
responder assigned by hand is left alone. Teams can hold a role but cannot be assignees.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from watchkeeper.lifecycle.draft import Draft
from watchkeeper.lifecycle.phases import reach
from watchkeeper.record import ROLES, Incident
from watchkeeper.render.sections import ROLE_TITLES
from watchkeeper.runbook.model import Config

COMMAND_ROLES = {"ic": "incident_commander", "mitigation": "mitigation_owner",
                 "comms": "communications_owner", "security": "security_owner"}
ASSIGNED_ROLES = ("incident_commander", "mitigation_owner")


def holder(incident: Incident, config: Config, role: str) -> str | None:
    """Who holds `role`: the one set on the incident, else the configured default."""
    cfg = config.roles.get(role)
    return incident.role(role) or (cfg.default if cfg is not None else None)


def _assignable(handle: str | None) -> str | None:
    name = (handle or "").removeprefix("@")
    return name if name and "/" not in name else None


def assignees_after(before: Incident, after: Incident, config: Config,
                    current: Sequence[str]) -> tuple[str, ...] | None:
    """The issue's assignees once roles changed from `before` to `after`; None when the
    current assignees need no change."""
    old = {a for r in ASSIGNED_ROLES if (a := _assignable(holder(before, config, r)))}
    new = [a for r in ASSIGNED_ROLES if (a := _assignable(holder(after, config, r)))]
    lower_new = {a.lower() for a in new}
    gone = {a.lower() for a in old if a.lower() not in lower_new}
    kept = [a for a in current if a.lower() not in gone]
    result = kept + [a for a in dict.fromkeys(new) if a.lower() not in {k.lower() for k in kept}]
    return None if result == list(current) else tuple(result)


def assign(draft: Draft, role: str, handle: str, actor: str, at: datetime, how: str,
           current_assignees: Sequence[str], *, key: str | None = None,
           url: str | None = None) -> bool:
    """Give `role` to `handle`; False when they already hold it. Assigning an Incident
    Commander acknowledges the incident."""
    before = draft.incident
    previous = before.role(role)
    if previous is not None and previous.lower() == handle.lower():
        return False
    roles = dict(before.roles)
    roles[role] = handle
    draft.incident = before.replace(roles=tuple((r, roles[r]) for r in ROLES if r in roles)
                                    + tuple((r, h) for r, h in roles.items() if r not in ROLES))
    title = ROLE_TITLES.get(role, role)
    was = f" (was {previous})" if previous else ""
    draft.log(at, actor, "role", f"{title}: {handle}{was} ({how})", key=key, url=url,
              data=(("role", role), ("holder", handle)))
    draft.show("roles")
    if role in ASSIGNED_ROLES:
        wanted = assignees_after(before, draft.incident, draft.config,
                                 draft.assignees if draft.assignees is not None
                                 else current_assignees)
        if wanted is not None:
            draft.assignees = wanted
    if role == "incident_commander":
        reach(draft, "acknowledged", at, actor, f"Incident Commander {handle} assigned",
              key=key, url=url)
    return True
