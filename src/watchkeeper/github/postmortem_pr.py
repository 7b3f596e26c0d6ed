"""Performing the closing actions: the postmortem commit and pull request, follow-up issues.

Both look before they write, so a retried action is harmless: the branch and its pull
request are found by name, a file already holding the fresh text is not committed again,
and a follow-up issue is found by its hidden marker.

A branch or file that someone started by hand is never overwritten: Watchkeeper commits
on top of the branch (refs only move forward) and keeps a hand-written file's text, adding
the template below it; the pull request gets a comment saying so.
"""

from __future__ import annotations

import logging
import re
from dataclasses import replace

from watchkeeper.closure import decision_log, postmortem
from watchkeeper.closure.actions import CreateFollowUp, PublishPostmortem
from watchkeeper.closure.decide import failure_key
from watchkeeper.closure.model import FollowUp
from watchkeeper.errors import PermanentError
from watchkeeper.github.executor import comment_marker
from watchkeeper.github.gateway import Gateway, PullView
from watchkeeper.record import Evidence, Incident, TimelineEntry
from watchkeeper.render.escape import code
from watchkeeper.render.markers import splice

log = logging.getLogger("watchkeeper.github.postmortem")
ACTOR = "watchkeeper"


def _installation(incident: Incident) -> int:
    if incident.installation_id is None:
        raise PermanentError(f"incident {incident.id} has no installation to act through")
    return incident.installation_id


def _pick(pulls: list[PullView]) -> PullView | None:
    """The branch's pull request to reuse: an open one, else one closed without merging."""
    return next((p for p in pulls if p.state == "open"), None) or next(
        (p for p in pulls if p.state == "closed" and not p.merged), None)


class ClosureActions:
    def __init__(self, gateway: Gateway) -> None:
        self.gateway = gateway

    async def publish(self, incident: Incident, action: PublishPostmortem,
                      first_attempt: bool) -> Incident:
        if incident.done(action.done_key):
            return incident
        try:
            return await self._publish(incident, action)
        except PermanentError as exc:
            log.warning("postmortem for %s failed: %s", incident.id, exc)
            entry = TimelineEntry(action.at, ACTOR, "postmortem",
                                  f"The postmortem pull request could not be opened: {exc}",
                                  key=failure_key(action.done_key), data=(("error", str(exc)),))
            return incident.replace(timeline=(*incident.timeline, entry)).with_done(
                action.done_key)

    async def _publish(self, incident: Incident, action: PublishPostmortem) -> Incident:
        gw, inst, repo = self.gateway, _installation(incident), action.repo
        base = (await gw.get_repo(inst, repo)).default_branch
        branch_sha = await gw.get_branch_sha(inst, repo, action.branch)
        notes: list[str] = []
        parent = branch_sha or await gw.get_branch_sha(inst, repo, base)
        if parent is None:
            raise PermanentError(f"{repo} has no commit on {base} to branch from")
        head = await gw.get_git_commit(inst, repo, parent)
        if branch_sha is not None and incident.closure.postmortem_branch is None \
                and head.message != action.message:
            notes.append(f"The branch {code(action.branch)} already existed (at "
                         f"{code(branch_sha[:12])}): Watchkeeper committed on top of it and "
                         "rewrote nothing.")
        files = await self._files(inst, incident, action, parent, notes)
        commit = None
        if files:
            tree = await gw.create_tree(inst, repo, head.tree, files)
            commit = await gw.create_commit(inst, repo, action.message, tree, [parent])
            if branch_sha is None:
                await gw.create_branch(inst, repo, action.branch, commit)
            else:
                await gw.move_branch(inst, repo, action.branch, commit)
        elif branch_sha is None:
            raise PermanentError(f"the postmortem adds nothing to {base}: no pull request")
        pull, how = await self._pull(inst, action, base, changed=commit is not None)
        if how in ("updated", "unchanged") and incident.closure.postmortem_pr is None:
            how = "opened"  # a retry found the pull request whose answer was lost
        await self._reviews(inst, action, pull, notes)
        if notes:
            await self._note(inst, action, pull.number, notes)
        return self._recorded(incident, action, pull, how, commit or parent)

    async def _files(self, inst: int, incident: Incident, action: PublishPostmortem,
                     parent: str, notes: list[str]) -> dict[str, str]:
        gw, repo = self.gateway, action.repo
        files: dict[str, str] = {}
        existing = await gw.get_file_text(inst, repo, action.path, ref=parent)
        text = postmortem.refresh(existing, incident.id, action.document,
                                  dict(action.sections), action.proposals)
        if existing is not None and postmortem.file_marker(incident.id) not in existing:
            notes.append(f"{code(action.path)} already existed without Watchkeeper's marker: "
                         "its text is kept, and the filled-in template was added below it.")
        if text != existing:
            files[action.path] = text
        if action.decisions is not None:
            old = await gw.get_file_text(inst, repo, action.decision_log, ref=parent)
            new = splice(old if old is not None else decision_log.NEW_FILE,
                         {action.decision_section: action.decisions})
            if new != old:
                files[action.decision_log] = new
        return files

    async def _pull(self, inst: int, action: PublishPostmortem, base: str, *,
                    changed: bool) -> tuple[PullView, str]:
        gw, repo = self.gateway, action.repo
        pull = _pick(await gw.find_pulls(inst, repo, action.branch))
        if pull is None:
            created = await gw.create_pull(inst, repo, head=action.branch, base=base,
                                           title=action.title, body=action.body)
            return created, "opened"
        if pull.state == "closed":
            reopened = await gw.update_pull(inst, repo, pull.number, state="open",
                                            title=action.title, body=action.body)
            return reopened, "reopened"
        if (pull.title, pull.body) != (action.title, action.body):
            pull = await gw.update_pull(inst, repo, pull.number, title=action.title,
                                        body=action.body)
        return pull, "updated" if changed else "unchanged"

    async def _reviews(self, inst: int, action: PublishPostmortem, pull: PullView,
                       notes: list[str]) -> None:
        asked = {login.lower() for login in pull.requested_reviewers}
        users = [u for u in action.reviewers
                 if u.lower() not in asked and u.lower() != pull.author.lower()]
        teams = [t for t in action.team_reviewers if t not in pull.requested_teams]
        if (users or teams) and not await self.gateway.request_reviewers(
                inst, action.repo, pull.number, users, teams):
            notes.append("Review could not be requested from " + ", ".join(
                code(name) for name in [*users, *teams]) + " (not collaborators of this "
                "repository?): please request reviews by hand.")

    async def _note(self, inst: int, action: PublishPostmortem, number: int,
                    notes: list[str]) -> None:
        marker = comment_marker(f"postmortem-note:{action.done_key}")
        comments = await self.gateway.list_comments(inst, action.repo, number)
        if not any(marker in c.body for c in comments):
            body = "\n\n".join(notes)
            await self.gateway.create_comment(inst, action.repo, number, f"{body}\n\n{marker}")

    def _recorded(self, incident: Incident, action: PublishPostmortem, pull: PullView,
                  how: str, head: str) -> Incident:
        closure = incident.closure
        url = pull.html_url or None
        updated = replace(closure, postmortem_repo=action.repo,
                          postmortem_branch=action.branch, postmortem_path=action.path,
                          postmortem_pr=pull.number, postmortem_url=url)
        entry = TimelineEntry(action.at, ACTOR, "postmortem",
                              f"Postmortem pull request {how}: {pull.number}", url=url,
                              key=action.done_key)
        proof = Evidence(f"postmortem:{action.repo}#{pull.number}", "postmortem",
                         "Postmortem pull request", url,
                         (("pr", str(pull.number)), ("branch", action.branch),
                          ("path", action.path), ("head_sha", head)), action.at)
        evidence = (*(e for e in incident.evidence if e.key != proof.key), proof)
        return incident.replace(closure=updated, timeline=(*incident.timeline, entry),
                                evidence=evidence).with_done(action.done_key)

    # --- follow-up issues -------------------------------------------------------------

    async def create_followup(self, incident: Incident, action: CreateFollowUp,
                              first_attempt: bool) -> Incident:
        current = next((f for f in incident.closure.followups if f.key == action.key), None)
        if current is not None and current.number is not None:
            return incident
        gw, inst = self.gateway, _installation(incident)
        number = None
        if not first_attempt:
            label = action.labels[0] if action.labels else None
            found = await gw.list_issues_with_label(inst, action.repo, label) if label else []
            number = min((i.number for i in found if action.marker in i.body), default=None)
        assigned = action.assignees
        if number is None:
            try:
                number = await gw.create_issue(inst, action.repo, action.title, action.body,
                                               labels=action.labels, assignees=assigned)
            except PermanentError:
                if not assigned:
                    raise
                assigned = ()  # GitHub refuses owners it cannot assign: open it unassigned
                number = await gw.create_issue(inst, action.repo, action.title, action.body,
                                               labels=action.labels)
        return self._followed(incident, action, number, bool(assigned))

    def _followed(self, incident: Incident, action: CreateFollowUp, number: int,
                  assigned: bool) -> Incident:
        base = incident.closure.issue_url
        url = re.sub(r"/issues/\d+$", f"/issues/{number}", base) if base else None
        followups = tuple(replace(f, number=number, url=url) if f.key == action.key else f
                          for f in incident.closure.followups)
        if not any(f.key == action.key for f in followups):
            followups += (FollowUp(action.key, action.title, "", "", action.repo, number, url),)
        follow = next(f for f in followups if f.key == action.key)
        text = (f"Follow-up issue {number} opened: {follow.title} (owner {follow.owner}, "
                f"due {follow.due})" + ("" if assigned or not follow.owner else
                                        "; the owner could not be assigned"))
        entry = TimelineEntry(action.at, ACTOR, "followup", text, url=url,
                              key=f"followup:{action.key}")
        proof = Evidence(f"followup:{action.repo}#{number}", "followup", follow.title, url,
                         (("issue", str(number)), ("owner", follow.owner), ("due", follow.due)),
                         action.at)
        return incident.replace(
            closure=replace(incident.closure, followups=followups),
            timeline=(*incident.timeline, entry), evidence=(*incident.evidence, proof))
