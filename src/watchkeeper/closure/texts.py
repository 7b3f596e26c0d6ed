"""What closing says: comments on the incident, the postmortem pull request, follow-ups.

Text from the record (titles, people's words) is neutralised; handles of role holders are
mentioned on purpose (they come from commands and config, and are checked).
"""

from __future__ import annotations

from collections.abc import Sequence

from watchkeeper.closure.model import DodItem, FollowUp
from watchkeeper.closure.preventive import Action, Row
from watchkeeper.record import Incident
from watchkeeper.render.escape import code, link, mention, neutralise, plain
from watchkeeper.render.sections import DEFINITION_OF_DONE
from watchkeeper.render.times import utc

TITLE_LIMIT = 256
_TEXTS = dict(DEFINITION_OF_DONE)


def _id(incident: Incident) -> str:
    return neutralise(incident.id, max_len=64)


def dod_lines(items: Sequence[DodItem]) -> list[str]:
    return [f"- {'✅' if item.met else '❌'} {_TEXTS.get(item.key, item.key)} "
            f"_{neutralise(item.detail, max_len=400)}_" for item in items]


def _pr_link(incident: Incident) -> str:
    closure = incident.closure
    if closure.postmortem_pr is None:
        return "the postmortem pull request"
    return link(f"pull request {closure.postmortem_pr}", closure.postmortem_url)


def closed_comment(incident: Incident, postmortem_failed: str | None) -> str:
    """After a completed close: the Definition of Done and the postmortem pull request."""
    items = incident.closure.dod
    unmet = [item for item in items if not item.met]
    head = (f"**Incident {_id(incident)} closed.** Definition of Done: all met."
            if not unmet else
            f"**Incident {_id(incident)} closed** with {len(unmet)} Definition of Done "
            "item(s) unmet; it carries the `needs:definition-of-done` label until they are.")
    lines = [head, "", *dod_lines(items), ""]
    closure = incident.closure
    if closure.published_at is not None:
        lines.append(f"The postmortem was published {utc(closure.published_at)}.")
    elif postmortem_failed:
        lines.append("Watchkeeper could not open the postmortem pull request: "
                     f"{neutralise(postmortem_failed, max_len=300)}. Check that the app may "
                     "write contents and pull requests in this repository.")
    elif closure.postmortem_pr is not None:
        lines.append(f"Postmortem: {_pr_link(incident)} "
                     f"(file {code(closure.postmortem_path)}), filled in from this incident's "
                     "record. Review it, fill the Owner and Due Date of each preventive "
                     "action, and merge it: each such action becomes a follow-up issue.")
    return "\n".join(lines)


def refused_comment(incident: Incident) -> str:
    """`closure.on_unmet: reopen`: the issue was reopened."""
    unmet = [item for item in incident.closure.dod if not item.met]
    return "\n".join([
        f"**Reopened:** incident {_id(incident)} does not meet the runbook's Definition of "
        "Done yet (this repository's configuration reopens it). Missing:", "",
        *dod_lines(unmet), "",
        "Close the issue again once these are done.",
    ])


def not_planned_comment(incident: Incident, postmortem: bool) -> str:
    reason = (incident.closure.reason or "not_planned").replace("_", " ")
    text = (f"**Incident {_id(incident)} closed as {neutralise(reason, max_len=40)}** "
            "(a false positive): recorded in the timeline.")
    if not postmortem:
        text += (" No postmortem is opened for it (set `closure.postmortem_on_not_planned` "
                 "to have one).")
    return text


def pr_title(incident: Incident) -> str:
    head = f"Postmortem {plain(incident.id, max_len=64)}: "
    return head + plain(incident.title, max_len=max(TITLE_LIMIT - len(head), 1))


def pr_marker(incident_id: str) -> str:
    return f"<!-- watchkeeper:postmortem-pr {neutralise(incident_id, max_len=64)} -->"


def pr_body(incident: Incident, path: str, decision_log: str | None,
            reviewers: Sequence[str]) -> str:
    closure = incident.closure
    ref = (f"#{incident.issue_number}" if incident.issue_number is not None
           else _id(incident))
    who = ", ".join(mention(r) for r in reviewers) or (
        "nobody yet: no Incident Commander or Security Owner is recorded, request reviews "
        "by hand")
    lines = [
        f"Postmortem for incident {_id(incident)} ({ref}"
        + (f", {link('issue', closure.issue_url)}" if closure.issue_url else "") + "), "
        f"severity {incident.severity}: {neutralise(incident.title, max_len=200)}.", "",
        f"- {code(path)}: the runbook's Postmortem Template filled in from the incident "
        "record, then the preventive actions, decisions, timeline and evidence.",
    ]
    if decision_log:
        lines.append(f"- {code(decision_log)}: the incident's decisions appended to the "
                     "decision log.")
    lines += [
        "", f"Review requested from the Incident Commander and the Security Owner: {who}.", "",
        "Before merging: replace the placeholders, and give each preventive action an Owner "
        "(a GitHub login) and a Due Date (YYYY-MM-DD). Merging publishes the postmortem; "
        "each action with both becomes a follow-up issue labelled `preventive-action`, "
        "assigned to its owner and tracked in the weekly security review.", "",
        "Closing the incident again refreshes the marked sections of the file on this branch "
        "(in a new commit); text written outside them is kept.", "",
        pr_marker(incident.id),
    ]
    return "\n".join(lines)


def commit_message(incident: Incident) -> str:
    return f"Postmortem {plain(incident.id, max_len=64)}: " + plain(incident.title, max_len=60)


def followup_marker(incident_id: str, key: str) -> str:
    return (f"<!-- watchkeeper:followup {neutralise(incident_id, max_len=64)} "
            f"{neutralise(key, max_len=40)} -->")


def followup_title(incident: Incident, action: Action) -> str:
    head = f"[{plain(incident.id, max_len=64)}] Preventive action: "
    return head + plain(action.title, max_len=max(TITLE_LIMIT - len(head), 1))


def followup_body(incident: Incident, action: Action, postmortem_url: str | None) -> str:
    """Body of a follow-up issue; the `Due:` line is what the weekly review reads."""
    closure = incident.closure
    ref = link(incident.id, closure.issue_url) if closure.issue_url else _id(incident)
    team = "/" in action.owner
    lines = [
        f"Preventive action from the postmortem of incident {ref}"
        + (f" (#{incident.issue_number})" if incident.issue_number is not None else "")
        + ".", "",
        f"**Action:** {neutralise(action.title, max_len=500)}",
        f"**Owner:** {mention(action.owner)}" + (" (a team: assign a person)" if team else ""),
        f"Due: {action.due.isoformat()}", "",
    ]
    if postmortem_url:
        lines.append(f"Postmortem: {link('pull request', postmortem_url)}.")
    lines += ["Tracked to completion in the weekly security review (label "
              "`preventive-action`). Close this issue when it is done.", "",
              followup_marker(incident.id, action.key)]
    return "\n".join(lines)


def merged_comment(incident: Incident, followups: Sequence[FollowUp],
                   skipped: Sequence[tuple[Row, str]], evaluated: bool) -> str:
    closure = incident.closure
    lines = [f"**Postmortem published:** {_pr_link(incident)} merged "
             f"{utc(closure.published_at)}."]
    if followups:
        lines += ["", "Follow-up issues for the preventive actions:"]
        lines += [f"- {link(f'issue {f.number}', f.url) if f.number else 'not opened'}: "
                  f"{neutralise(f.title, max_len=200)} — owner {neutralise(f.owner)}, "
                  f"due {neutralise(f.due)}" for f in followups]
    else:
        lines += ["", "No preventive action had both an owner and a due date: no follow-up "
                  "issues were opened."]
    if skipped:
        lines += ["", "Rows not turned into follow-ups:"]
        lines += [f"- {neutralise(row.action, max_len=200)}: {why}" for row, why in skipped]
    if evaluated:
        unmet = closure.unmet()
        lines += ["", "Definition of Done: all met; the `needs:definition-of-done` label is "
                  "removed." if not unmet else "Definition of Done, still unmet:"]
        lines += dod_lines(unmet)
    return "\n".join(lines)
