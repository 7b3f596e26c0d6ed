"""What the SLA clock says on the incident: reminders, breaches and escalations.

Only people named by the record (assigned roles) or by configuration (defaults, backups)
are ever mentioned; everything else is rendered inert.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from watchkeeper.record import Incident
from watchkeeper.render.escape import mention, neutralise
from watchkeeper.render.sections import ROLE_TITLES
from watchkeeper.render.times import duration, utc
from watchkeeper.runbook.model import Config
from watchkeeper.slaclock.steps import STEP_ROLES, STEP_TITLES, Timer, targets_for

# What the owners are asked to do, per step.
ASKS = {
    "acknowledge": "please acknowledge the incident (tick the checklist item that marks it "
                   "acknowledged)",
    "contain": "please complete and validate containment (the checklist items that mark it "
               "contained)",
    "fix": "please deploy and verify the permanent fix (the checklist items that mark it "
           "fixed)",
}


def role_owner(incident: Incident, config: Config, role: str) -> str | None:
    """Who answers for the role: the assigned person, else the configured default, else
    the configured backup."""
    assigned = incident.role(role)
    if assigned:
        return assigned
    cfg = config.roles.get(role)
    if cfg is None:
        return None
    return cfg.default or cfg.backup


def _role_title(role: str) -> str:
    return ROLE_TITLES.get(role, role.replace("_", " ").title())


def _owners_line(incident: Incident, config: Config, step: str) -> str:
    named: list[str] = []
    missing: list[str] = []
    seen: set[str] = set()
    for role in STEP_ROLES[step]:
        who = role_owner(incident, config, role)
        if who is None:
            missing.append(f"{_role_title(role)} (set `roles.{role}.default` or assign one)")
        elif who.lower() in seen:
            named[-1] = named[-1].removesuffix(")") + f", {_role_title(role)})"
        else:
            seen.add(who.lower())
            named.append(f"{mention(who)} ({_role_title(role)})")
    parts = []
    if named:
        parts.append(f"{', '.join(named)}: {ASKS[step]}.")
    if missing:
        parts.append("Nobody answers for " + " or ".join(missing) + ".")
    return " ".join(parts)


def _target_phrase(incident: Incident, config: Config, step: str) -> str:
    targets = targets_for(incident, config)
    target = getattr(targets, step).describe() if targets is not None else "unknown"
    return f"target {target} for a {incident.severity} incident"


def reminder_comment(incident: Incident, config: Config, timer: Timer, now: datetime) -> str:
    title = STEP_TITLES[timer.step]
    left = max(timer.deadline - now, timedelta(0))
    return "\n\n".join([
        f"**SLA reminder: {title}** is due at **{utc(timer.deadline)}**, "
        f"{duration(left)} from now ({_target_phrase(incident, config, timer.step)}, "
        f"counted from detection at {utc(incident.detected_at)}).",
        _owners_line(incident, config, timer.step),
    ])


def escalation_line(config: Config, step: str) -> str:
    """The roles' backups, mentioned; or what to configure when there are none."""
    parts: list[str] = []
    for role in STEP_ROLES[step]:
        cfg = config.roles.get(role)
        title = neutralise(cfg.backup_title, max_len=60) if cfg and cfg.backup_title else ""
        backs = f"backup for the {_role_title(role)}"
        if cfg is not None and cfg.backup:
            parts.append(f"{mention(cfg.backup)} ({title + ', ' if title else ''}{backs})")
        else:
            who = title or "the backup"
            parts.append(f"{who} ({backs}; no one is configured: set `roles.{role}.backup`)")
    return "**Escalation**: " + "; ".join(parts) + ", please step in."


def breach_comment(incident: Incident, config: Config, timer: Timer, now: datetime, *,
                   labelled: bool) -> str:
    title = STEP_TITLES[timer.step]
    late = max(now - timer.deadline, timedelta(0))
    head = (f"**SLA breached: {title}**. The deadline **{utc(timer.deadline)}** passed "
            f"{duration(late)} ago ({_target_phrase(incident, config, timer.step)}).")
    if labelled:
        head += (" The `sla:breached` label marks it; removing the label overrides it, "
                 "and Watchkeeper will not add it again for this deadline.")
    return "\n\n".join([head, escalation_line(config, timer.step),
                        _owners_line(incident, config, timer.step)])


def timeline_text(timer: Timer, now: datetime) -> str:
    title = STEP_TITLES[timer.step]
    if timer.kind == "reminder":
        return f"SLA reminder: {title} due {utc(timer.deadline)}"
    return f"SLA breached: {title} deadline {utc(timer.deadline)} passed; escalated to backup"
