"""Set up the fake's world, look inside it, and act in it as a person would.

Person actions go through the same operations as the app's REST calls, so they fire the same
webhooks, with ``sender.type == "User"``: a demo or test can play the responder.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from watchkeeper.github.fake import ops
from watchkeeper.github.fake.shapes import ts
from watchkeeper.github.fake.state import Actor, Installation, Issue, Repo, World

# What GitHub reports as the legacy "permission" for each role.
_LEGACY = {"admin": "admin", "maintain": "write", "write": "write", "triage": "read",
           "read": "read", "none": "none"}


class FakeControls:
    world: World

    # --- setting up -------------------------------------------------------------------

    def add_installation(self, installation_id: int, account: str) -> Installation:
        installation = Installation(installation_id, account)
        self.world.installations[installation_id] = installation
        return installation

    def add_repo(self, full_name: str, *, installation_id: int | None = None,
                 private: bool = True, default_branch: str = "main",
                 files: Mapping[str, str] | None = None) -> Repo:
        """A repository with one commit holding ``files``; installs the app if needed."""
        owner, name = full_name.split("/")
        if installation_id is None:
            installation_id = next(
                (i.id for i in self.world.installations.values()
                 if i.account.lower() == owner.lower()),
                None,
            ) or self.add_installation(100 + len(self.world.installations), owner).id
        elif installation_id not in self.world.installations:
            self.add_installation(installation_id, owner)
        repo = Repo(self.world.next_id(), owner, name, installation_id, private, default_branch)
        self.world.repos[full_name.lower()] = repo
        self.world.commit(repo, dict(files or {}), branch=default_branch)
        return repo

    def set_file(self, repo: str, path: str, text: str | None, *,
                 branch: str | None = None) -> str:
        """Commit a file change directly (None deletes it); returns the new commit's sha."""
        r = self.world.repo(repo)
        branch = branch or r.default_branch
        files = dict(r.files(branch))
        if text is None:
            files.pop(path, None)
        else:
            files[path] = text
        return self.world.commit(r, files, branch=branch)

    def create_branch(self, repo: str, branch: str, *, from_branch: str | None = None) -> str:
        r = self.world.repo(repo)
        sha = r.branches[from_branch or r.default_branch]
        r.branches[branch] = sha
        return sha

    def set_permission(self, repo: str, login: str, role: str) -> None:
        """``role``: admin, maintain, write, triage, read or none."""
        self.world.repo(repo).permissions[login.lower()] = (_LEGACY[role], role)

    def add_label(self, repo: str, name: str, color: str = "ededed",
                  description: str | None = None) -> None:
        ops.ensure_label(self.world, self.world.repo(repo), name, color, description)

    def add_workflow_jobs(self, repo: str, run_id: int, jobs: Sequence[dict[str, Any]]) -> None:
        self.world.repo(repo).workflow_jobs[run_id] = [dict(j) for j in jobs]

    def add_milestone(self, repo: str, title: str, *, state: str = "open",
                      due_on: str | None = None) -> dict[str, Any]:
        r = self.world.repo(repo)
        number = len(r.milestones) + 1
        milestone = {"id": self.world.next_id(), "number": number, "title": title,
                     "state": state, "due_on": due_on, "created_at": ts(self.world.now()),
                     "html_url": f"{self.world.web_url}/{r.full_name}/milestone/{number}"}
        r.milestones.append(milestone)
        return milestone

    def add_alert(self, repo: str, kind: str, alert: Mapping[str, Any]) -> dict[str, Any]:
        """A security alert as REST lists it; ``kind``: code-scanning, secret-scanning or
        dependabot (a repository without alerts of a kind answers as if it were off)."""
        stored = dict(alert)
        self.world.repo(repo).alerts.setdefault(kind, []).append(stored)
        return stored

    def enable_alerts(self, repo: str, *kinds: str) -> None:
        for kind in kinds:
            self.world.repo(repo).alerts.setdefault(kind, [])

    def add_workflow_run(self, repo: str, run: Mapping[str, Any]) -> dict[str, Any]:
        stored = dict(run)
        self.world.repo(repo).workflow_runs.insert(0, stored)  # newest first
        return stored

    def suspend_installation(self, installation_id: int) -> None:
        self.world.installations[installation_id].suspended = True

    def remove_installation(self, installation_id: int) -> None:
        self.world.installations.pop(installation_id, None)

    # --- looking inside ---------------------------------------------------------------

    def repo(self, full_name: str) -> Repo:
        return self.world.repo(full_name)

    def issue(self, repo: str, number: int) -> Issue:
        return self.world.repo(repo).issues[number]

    def issues(self, repo: str) -> list[Issue]:
        return [i for i in self.world.repo(repo).issues.values() if i.pull is None]

    def pulls(self, repo: str) -> list[Issue]:
        return [i for i in self.world.repo(repo).issues.values() if i.pull is not None]

    def file(self, repo: str, path: str, *, branch: str | None = None) -> str | None:
        return self.world.repo(repo).files(branch).get(path)

    # --- acting as a person -----------------------------------------------------------

    def _target(self, repo: str, number: int) -> tuple[Repo, Issue]:
        r = self.world.repo(repo)
        return r, r.issues[number]

    def person_open_issue(self, repo: str, title: str, body: str = "", *,
                          login: str = "octocat", labels: Sequence[str] = ()) -> int:
        r = self.world.repo(repo)
        return ops.create_issue(self.world, r, Actor(login), title, body, labels).number

    def person_edit_issue_body(self, repo: str, number: int, body: str, *,
                               login: str = "octocat") -> None:
        r, i = self._target(repo, number)
        ops.edit_issue(self.world, r, i, Actor(login), body=body)

    def person_edit_issue_title(self, repo: str, number: int, title: str, *,
                                login: str = "octocat") -> None:
        r, i = self._target(repo, number)
        ops.edit_issue(self.world, r, i, Actor(login), title=title)

    def person_add_label(self, repo: str, number: int, label: str, *,
                         login: str = "octocat") -> None:
        r, i = self._target(repo, number)
        ops.add_labels(self.world, r, i, Actor(login), [label])

    def person_remove_label(self, repo: str, number: int, label: str, *,
                            login: str = "octocat") -> None:
        r, i = self._target(repo, number)
        ops.remove_label(self.world, r, i, Actor(login), label)

    def person_assign(self, repo: str, number: int, assignees: Sequence[str], *,
                      login: str = "octocat") -> None:
        r, i = self._target(repo, number)
        ops.edit_issue(self.world, r, i, Actor(login), assignees=list(assignees))

    def person_comment(self, repo: str, number: int, body: str, *,
                       login: str = "octocat") -> int:
        r, i = self._target(repo, number)
        return ops.add_comment(self.world, r, i, Actor(login), body).id

    def person_edit_comment(self, repo: str, number: int, comment_id: int, body: str, *,
                            login: str | None = None) -> None:
        """Edit a comment (by its author unless ``login`` says otherwise)."""
        r, i = self._target(repo, number)
        c = next(c for c in i.comments if c.id == comment_id)
        ops.edit_comment(self.world, r, i, c, Actor(login) if login else c.user, body)

    def person_close_issue(self, repo: str, number: int, *, login: str = "octocat",
                           reason: str = "completed") -> None:
        r, i = self._target(repo, number)
        ops.edit_issue(self.world, r, i, Actor(login), state="closed", state_reason=reason)

    def person_reopen_issue(self, repo: str, number: int, *, login: str = "octocat") -> None:
        r, i = self._target(repo, number)
        ops.edit_issue(self.world, r, i, Actor(login), state="open")

    def person_open_pr(self, repo: str, *, head: str, title: str, body: str = "",
                       base: str | None = None, login: str = "octocat") -> int:
        r = self.world.repo(repo)
        return ops.open_pull(self.world, r, Actor(login), head=head,
                             base=base or r.default_branch, title=title, body=body).number

    def person_merge_pr(self, repo: str, number: int, *, login: str = "octocat") -> str:
        r, i = self._target(repo, number)
        return ops.merge_pull(self.world, r, i, Actor(login))
