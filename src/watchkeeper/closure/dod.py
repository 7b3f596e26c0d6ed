"""The runbook's Definition of Done, evaluated from the record at a given time.

- Containment completed and verified: the `contained` milestone, and the verification
  items (default: "Validate containment ...") ticked.
- Permanent fix deployed and monitored: a recorded fix deployment (else the `fixed`
  milestone), then `monitoring_hours` without the failure coming back; a failure after the
  fix restarts the window.
- Stakeholder communication completed: a status or customer update recorded, or the
  communication item (default: "Send first stakeholder update") ticked.
- Postmortem published: its pull request merged.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from watchkeeper.closure import facts
from watchkeeper.closure.model import DodItem
from watchkeeper.record import Incident
from watchkeeper.render.checklist import iter_items
from watchkeeper.render.times import duration, utc
from watchkeeper.runbook.model import Config

# Unmet items that reopening the issue would not help with: the postmortem pull request
# is opened by closing, and published by merging it.
NOT_BLOCKING = frozenset({"postmortem_published"})


def _item_texts(config: Config, keys: tuple[str, ...]) -> dict[str, str]:
    """The configured checklist items among `keys`, key -> text (missing keys dropped)."""
    wanted = set(keys)
    return {item.key: item.text for _, item in iter_items(config.checklist) if item.key in wanted}


def containment(incident: Incident, config: Config) -> DodItem:
    key = "containment_verified"
    contained = incident.milestone("contained")
    if contained is None:
        return DodItem(key, False, "containment is not marked complete (tick the containment "
                       "items or use /contained)")
    missing = [text for item, text in _item_texts(config, config.closure.verification_items)
               .items() if item not in incident.checklist_done]
    if missing:
        return DodItem(key, False, "containment is not verified: tick " +
                       "; ".join(f"“{text}”" for text in missing))
    return DodItem(key, True, f"contained {utc(contained)}, verified")


def fix(incident: Incident, config: Config, at: datetime) -> DodItem:
    key = "fix_deployed"
    fixed_at, how = facts.fix_deployed_at(incident)
    if fixed_at is None:
        return DodItem(key, False, "no permanent fix is recorded as deployed (a deployment of "
                       "a linked fix, the permanent-fix items ticked, or /fixed)")
    hours = config.closure.monitoring_hours
    start, restarted = fixed_at, False
    last_failure = incident.occurrences.last_at
    if last_failure is not None and last_failure > fixed_at:
        start, restarted = last_failure, True
    ends = start + timedelta(hours=hours)
    if at < ends:
        why = (f"the failure recurred {utc(last_failure)} after the fix" if restarted
               else f"{how} {utc(fixed_at)}")
        return DodItem(key, False, f"the {hours}h monitoring window is not over ({why}; it "
                       f"ends {utc(ends)}, {duration(ends - at)} from the close)")
    window = f", monitored {hours}h" if hours else ""
    return DodItem(key, True, f"{how} {utc(fixed_at)}{window}")


def communication(incident: Incident, config: Config) -> DodItem:
    key = "communication_done"
    updates = facts.communications(incident)
    if updates:
        return DodItem(key, True, f"{len(updates)} update(s), the first {utc(updates[0].at)}")
    items = _item_texts(config, config.closure.communication_items)
    ticked = [text for item, text in items.items() if item in incident.checklist_done]
    if ticked:
        return DodItem(key, True, f"ticked “{ticked[0]}”")
    how = "/status or /customer-update"
    if items:
        how += " (or tick " + "; ".join(f"“{text}”" for text in items.values()) + ")"
    return DodItem(key, False, f"no stakeholder update is recorded: use {how}")


def postmortem(incident: Incident) -> DodItem:
    key = "postmortem_published"
    closure = incident.closure
    if closure.published_at is not None:
        return DodItem(key, True, f"postmortem merged {utc(closure.published_at)}")
    if closure.postmortem_pr is not None:
        return DodItem(key, False, "the postmortem pull request is not merged yet")
    return DodItem(key, False, "the postmortem is not published yet")


def evaluate(incident: Incident, config: Config, at: datetime) -> tuple[DodItem, ...]:
    """Every item of the Definition of Done, in the runbook's order, as of `at`."""
    return (containment(incident, config), fix(incident, config, at),
            communication(incident, config), postmortem(incident))


def blocking(items: tuple[DodItem, ...]) -> tuple[DodItem, ...]:
    """Unmet items responders must act on before closing (see NOT_BLOCKING)."""
    return tuple(item for item in items if not item.met and item.key not in NOT_BLOCKING)
