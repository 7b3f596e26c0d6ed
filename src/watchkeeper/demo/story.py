"""The runbook story, step by step: every step is something a person or GitHub does in the
simulated GitHub; Watchkeeper learns of it only through the signed webhook, as in
production. After each step the demo waits for the app to settle and narrates the effects.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from watchkeeper.demo import payloads
from watchkeeper.demo.narrate import Narrator
from watchkeeper.demo.observe import BOT, changes, snapshot
from watchkeeper.demo.stage import Stage
from watchkeeper.demo.world import BILLING, CI, REPO, SECRET_SCAN, commit
from watchkeeper.record import Incident

SCAN_RUN, FIX_CI_RUN, FIX_SCAN_RUN, MAIN_SCAN_RUN = 9001, 9002, 9003, 9004
SCAN_JOB = 70001
DEPLOYMENT = 4242
FIX_BRANCH = "fix/billing-token-vault"
OTHER_BRANCH = "deps/http-client"
LEAKED = "provider: billing-co\ntoken: bc_live_0000-demo-not-a-real-token-0000\n"
FIXED = "provider: billing-co\ntoken_from: vault://billing/api-token\n"


class DemoFailed(RuntimeError):
    """The app did not do what the story needs to go on (the message says what)."""


@dataclass
class Outcome:
    issue: int  # the incident issue's number
    incident: Incident
    fix_pull: int
    problems: list[str]


def tick(body: str, *keys: str) -> str:
    """Tick checklist items in an issue body, as a person clicking the boxes does."""
    for key in keys:
        body = re.sub(rf"- \[ \](.*<!-- wk:{re.escape(key)} -->)", r"- [x]\1", body)
    return body


class Story:
    def __init__(self, stage: Stage, narrator: Narrator, day: datetime) -> None:
        self.stage = stage
        self.fake = stage.fake
        self.say = narrator
        self.day = day  # midnight UTC of the day the incident happens
        self.problems: list[str] = []
        self.issue = 0
        self.fix_pull = 0
        self.fix_head = ""
        self.merge_sha = ""

    async def step(self, at: timedelta, headline: str, doing: str | None,
                   act: Callable[[], None]) -> None:
        when = self.stage.clock.jump(self.day + at)
        self.say.step(when, headline, doing)
        before = await snapshot(self.stage)
        act()
        await self.stage.settle()
        found = await changes(self.stage, before)
        self.say.changes(found)
        bad = [s for s in found.delivered if s.status not in (200, 202)]
        if bad or found.new_dead:
            self.problems.append(f"{headline}: {len(bad)} delivery(ies) refused, "
                                 f"{found.new_dead} dead-lettered")

    # --- people and GitHub ------------------------------------------------------------

    def _comment(self, who: str, text: str) -> Callable[[], None]:
        def act() -> None:
            self.fake.person_comment(REPO, self.issue, text, login=who)
        return act

    def _tick(self, who: str, *keys: str) -> Callable[[], None]:
        def act() -> None:
            body = self.fake.issue(REPO, self.issue).body or ""
            ticked = tick(body, *keys)
            if ticked == body:
                self.problems.append(f"checklist items not found in the issue: {keys}")
            self.fake.person_edit_issue_body(REPO, self.issue, ticked, login=who)
        return act

    def _run(self, run_id: int, name: str, path: str, conclusion: str, branch: str, sha: str,
             actor: str, *, event: str = "push", pull: int | None = None
             ) -> Callable[[], None]:
        return lambda: self.stage.send("workflow_run", payloads.workflow_run(
            self.fake, REPO, run_id=run_id, name=name, path=path, conclusion=conclusion,
            branch=branch, sha=sha, actor=actor, event=event, pull=pull))

    # --- the story --------------------------------------------------------------------

    async def play(self) -> Outcome:
        h: Callable[..., timedelta] = (  # noqa: E731
            lambda hours, minutes=0: timedelta(hours=hours, minutes=minutes))
        self.stage.clock.jump(self.day + h(6, 30))
        leak = commit(self.fake, BILLING, LEAKED, "Add billing provider settings")
        self.say.step(self.stage.clock.now(), "carol pushes \"Add billing provider settings\" "
                      f"to main (commit {leak[:12]}): a live token lands in {BILLING}.")
        await self.step(h(8), "dave opens a pull request with an unrelated change.",
                        "Upgrade the HTTP client", self._open_other)

        def scan_fails() -> None:
            self.fake.add_workflow_jobs(REPO, SCAN_RUN, [payloads.failed_job(
                self.fake, REPO, run_id=SCAN_RUN, job_id=SCAN_JOB, name="gitleaks",
                failed_step="Scan for secrets")])
            self._run(SCAN_RUN, "Secret scan", SECRET_SCAN, "failure", "main", leak, "carol")()

        await self.step(h(9), "GitHub: the Secret scan workflow fails on main.",
                        f"workflow_run {SCAN_RUN} completed with conclusion failure", scan_fails)
        self.issue = self._incident_issue()
        i = self.issue
        await self.step(h(9, 4), f"alice takes command in issue #{i}.", "comments: /ic @alice",
                        self._comment("alice", "/ic @alice"))
        await self.step(h(9, 5), "alice ticks the first checklist items.",
                        "ticks: Open incident channel and assign IC; Record start time, ...",
                        self._tick("alice", "assign_ic", "record_start"))
        await self.step(h(9, 7), "alice freezes risky deployments.",
                        "ticks: Freeze risky deployments if incident is active in production",
                        self._tick("alice", "freeze_deployments"))
        await self.step(h(9, 10), "alice assigns the other roles.",
                        "comments: /security @bob and /mitigation @carol; ticks: Assign "
                        "mitigation owner and security owner",
                        self._both(self._comment("alice", "/security @bob\n/mitigation @carol"),
                                   self._tick("alice", "assign_owners")))
        await self.step(h(9, 20), "bob finds the token read-only: alice lowers the severity.",
                        "adds the label severity:high; ticks: Set initial severity",
                        self._both(lambda: self.fake.person_add_label(
                            REPO, i, "severity:high", login="alice"),
                            self._tick("alice", "set_severity")))
        await self.step(h(9, 30), "alice posts the internal status update.",
                        'comments: /status impact="Billing token exposed in the repository; '
                        'no misuse seen" mitigation="revoking the token" next="10:30 UTC"',
                        self._comment("alice", '/status impact="Billing token exposed in the '
                                      'repository; no misuse seen" mitigation="revoking the '
                                      'token" next="10:30 UTC"'))
        await self.step(h(9, 45), "bob confirms the blast radius.",
                        "ticks: Confirm blast radius (tenants, endpoints, data)",
                        self._tick("bob", "blast_radius", "blast_radius_tenants",
                                   "blast_radius_endpoints", "blast_radius_data"))
        await self.step(h(10, 10), "bob revokes the token and verifies containment.",
                        "ticks: revoke key/token; Complete containment steps; Validate "
                        "containment ...",
                        self._tick("bob", "revoke_credentials", "complete_containment",
                                   "validate_containment"))
        await self.step(h(10, 20), "alice records a decision and the stakeholder update.",
                        "comments: /decision Rotate every billing token and load them from "
                        "the vault; ticks: Send first stakeholder update",
                        self._both(self._comment("alice", "/decision Rotate every billing "
                                                 "token and load them from the vault"),
                                   self._tick("alice", "stakeholder_update")))
        await self.step(h(11), "carol opens the fix pull request, referencing the incident.",
                        f"branch {FIX_BRANCH}, body: Part of #{i}; ticks: Start permanent fix "
                        "branch", self._both(self._open_fix,
                                             self._tick("carol", "start_fix_branch")))
        p = self.fix_pull
        await self.step(h(11, 12), f"GitHub: the checks on pull request #{p} pass.",
                        "workflow_run: CI and Secret scan succeed on its head commit",
                        self._fix_checks)
        await self.step(h(11, 30), f"carol merges pull request #{p}.", None, self._merge)
        await self.step(h(11, 45), "GitHub: the deployment to production succeeds.",
                        f"deployment_status: deployment {DEPLOYMENT} of {self.merge_sha[:12]} "
                        "is success",
                        lambda: self.stage.send("deployment_status", payloads.deployment_status(
                            self.fake, REPO, deployment_id=DEPLOYMENT, sha=self.merge_sha,
                            environment="production", state="success", creator="carol")))
        await self.step(h(11, 50), "GitHub: the Secret scan passes on main again.",
                        f"workflow_run {MAIN_SCAN_RUN} completed with conclusion success",
                        self._run(MAIN_SCAN_RUN, "Secret scan", SECRET_SCAN, "success",
                                  "main", self.merge_sha, "carol"))
        await self.step(h(12), "bob confirms the fix.",
                        "ticks: Deploy permanent fix; Verify no regression ...",
                        self._tick("bob", "deploy_fix", "verify_no_regression"))
        await self.step(h(12, 10), "alice records the root cause.",
                        "comments: /rootcause A release script copied a debug config holding "
                        "a live token",
                        self._comment("alice", "/rootcause A release script copied a debug "
                                      "config holding a live token"))
        await self.step(h(36, 25), "A day later, the monitoring window has passed.",
                        "alice ticks: Document exact timeline and decisions; Close incident "
                        "only after monitoring window ...",
                        self._tick("alice", "document_timeline", "close_after_monitoring"))
        await self.step(h(36, 30), f"alice closes issue #{i}.", "closes it as completed",
                        lambda: self.fake.person_close_issue(REPO, i, login="alice"))
        incident = await self.stage.runtime.store.incident_for_issue(REPO, i)
        if incident is None:
            raise DemoFailed(f"no incident record for issue #{i}")
        return Outcome(i, incident, self.fix_pull, self.problems)

    @staticmethod
    def _both(*acts: Callable[[], None]) -> Callable[[], None]:
        def act() -> None:
            for each in acts:
                each()
        return act

    def _open_other(self) -> None:
        self.fake.create_branch(REPO, OTHER_BRANCH)
        commit(self.fake, "requirements.txt", "httpx==0.28.1\n", "Upgrade the HTTP client",
               branch=OTHER_BRANCH)
        self.fake.person_open_pr(REPO, head=OTHER_BRANCH, login="dave",
                                 title="Upgrade the HTTP client", body="Routine upgrade.")

    def _incident_issue(self) -> int:
        opened = [x.number for x in self.fake.issues(REPO) if x.user.login == BOT]
        if not opened:
            raise DemoFailed("the failing secret scan opened no incident issue")
        return opened[0]

    def _open_fix(self) -> None:
        self.fake.create_branch(REPO, FIX_BRANCH)
        self.fix_head = commit(self.fake, BILLING, FIXED, "Load the billing token from the "
                               "vault", branch=FIX_BRANCH)
        self.fix_pull = self.fake.person_open_pr(
            REPO, head=FIX_BRANCH, login="carol", title="Load the billing token from the vault",
            body=f"Part of #{self.issue}: the token no longer lives in {BILLING}; it is read "
                 "from the vault at start-up.\n\n- [x] token rotated\n- [x] tests updated\n")

    def _fix_checks(self) -> None:
        for run_id, name, path in ((FIX_CI_RUN, "CI", CI),
                                   (FIX_SCAN_RUN, "Secret scan", SECRET_SCAN)):
            self._run(run_id, name, path, "success", FIX_BRANCH, self.fix_head, "carol",
                      event="pull_request", pull=self.fix_pull)()

    def _merge(self) -> None:
        self.merge_sha = self.fake.person_merge_pr(REPO, self.fix_pull, login="carol")
