"""Changes to the fake's state, each announced as the webhook GitHub would send.

Shared by the REST routes (the app acting, sender "<slug>[bot]") and the person_* methods
(a human acting, sender type "User"), so both paths produce identical events.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from watchkeeper.github.fake import shapes
from watchkeeper.github.fake.state import Actor, Comment, Issue, Label, Pull, Repo, World


def _is_app(world: World, actor: Actor) -> bool:
    return actor == world.bot


def _emit(world: World, r: Repo, i: Issue, actor: Actor, action: str, **extra: Any) -> None:
    if i.pull is not None:
        event, obj = "pull_request", {"number": i.number, "pull_request": shapes.pull(world, r, i)}
    else:
        event, obj = "issues", {"issue": shapes.issue(world, r, i)}
    _send(world, r, actor, event, action, {**obj, **extra})


def _send(world: World, r: Repo, actor: Actor, event: str, action: str,
          body: dict[str, Any]) -> None:
    world.emit(event, {
        "action": action, **body,
        "repository": shapes.repo(world, r),
        "sender": shapes.user(world, actor),
        "installation": {"id": r.installation_id, "node_id": f"IN_{r.installation_id}"},
    })


def ensure_label(world: World, r: Repo, name: str, color: str = "ededed",
                 description: str | None = None) -> Label:
    """The repository's label of that name, created on the fly as GitHub does for issues."""
    existing = r.label(name)
    if existing is not None:
        return existing
    created = Label(world.next_id(), name, color, description)
    r.labels[name.lower()] = created
    return created


def create_issue(world: World, r: Repo, actor: Actor, title: str, body: str | None,
                 labels: Sequence[str] = (), assignees: Sequence[str] = ()) -> Issue:
    now = world.now()
    number, r.next_number = r.next_number, r.next_number + 1
    issue = Issue(world.next_id(), number, title, body, actor, now, now,
                  via_app=_is_app(world, actor))
    r.issues[number] = issue
    _emit(world, r, issue, actor, "opened")
    add_labels(world, r, issue, actor, labels)
    _set_assignees(world, r, issue, actor, assignees)
    return issue


def add_labels(world: World, r: Repo, i: Issue, actor: Actor, names: Sequence[str]) -> None:
    for name in names:
        lb = ensure_label(world, r, name)
        if all(n.lower() != lb.name.lower() for n in i.labels):
            i.labels.append(lb.name)
            i.updated_at = world.now()
            _emit(world, r, i, actor, "labeled", label=shapes.label(world, r, lb))


def remove_label(world: World, r: Repo, i: Issue, actor: Actor, name: str) -> bool:
    for present in i.labels:
        if present.lower() == name.lower():
            i.labels.remove(present)
            i.updated_at = world.now()
            lb = r.label(present) or Label(0, present)
            _emit(world, r, i, actor, "unlabeled", label=shapes.label(world, r, lb))
            return True
    return False


def _set_assignees(world: World, r: Repo, i: Issue, actor: Actor,
                   logins: Sequence[str]) -> None:
    wanted = list(dict.fromkeys(logins))
    for login in [a for a in i.assignees if a not in wanted]:
        i.assignees.remove(login)
        _emit(world, r, i, actor, "unassigned", assignee=shapes.user(world, Actor(login)))
    for login in [a for a in wanted if a not in i.assignees]:
        i.assignees.append(login)
        _emit(world, r, i, actor, "assigned", assignee=shapes.user(world, Actor(login)))


def edit_issue(world: World, r: Repo, i: Issue, actor: Actor, *, title: str | None = None,
               body: str | None = None, state: str | None = None,
               state_reason: str | None = None, labels: Sequence[str] | None = None,
               assignees: Sequence[str] | None = None) -> None:
    """Apply a PATCH: one webhook per kind of change, in GitHub's order."""
    changes: dict[str, Any] = {}
    if title is not None and title != i.title:
        changes["title"] = {"from": i.title}
        i.title = title
    if body is not None and body != (i.body or ""):
        changes["body"] = {"from": i.body or ""}
        i.body = body
    if changes:
        i.updated_at = world.now()
        _emit(world, r, i, actor, "edited", changes=changes)
    if state == "closed" and i.state == "open":
        i.state, i.state_reason = "closed", state_reason or "completed"
        i.closed_at = i.updated_at = world.now()
        _emit(world, r, i, actor, "closed")
    elif state == "open" and i.state == "closed":
        i.state, i.state_reason, i.closed_at = "open", "reopened", None
        i.updated_at = world.now()
        _emit(world, r, i, actor, "reopened")
    elif state_reason is not None and state is None and i.state == "closed":
        i.state_reason = state_reason
    if labels is not None:
        wanted = {n.lower() for n in labels}
        for present in [n for n in i.labels if n.lower() not in wanted]:
            remove_label(world, r, i, actor, present)
        add_labels(world, r, i, actor, labels)
    if assignees is not None:
        _set_assignees(world, r, i, actor, assignees)


def add_comment(world: World, r: Repo, i: Issue, actor: Actor, body: str) -> Comment:
    now = world.now()
    c = Comment(world.next_id(), body, actor, now, now, via_app=_is_app(world, actor))
    i.comments.append(c)
    i.updated_at = now
    obj = shapes.issue(world, r, i)
    _send(world, r, actor, "issue_comment", "created",
          {"issue": obj, "comment": shapes.comment(world, r, i, c)})
    return c


def edit_comment(world: World, r: Repo, i: Issue, c: Comment, actor: Actor, body: str) -> None:
    """Change a comment's text: `issue_comment.edited` with the text before in `changes`."""
    if body == c.body:
        return
    before, c.body = c.body, body
    c.updated_at = world.now()
    _send(world, r, actor, "issue_comment", "edited",
          {"changes": {"body": {"from": before}}, "issue": shapes.issue(world, r, i),
           "comment": shapes.comment(world, r, i, c)})


def open_pull(world: World, r: Repo, actor: Actor, *, head: str, base: str, title: str,
              body: str | None, draft: bool = False) -> Issue:
    now = world.now()
    number, r.next_number = r.next_number, r.next_number + 1
    pull = Pull(head, base, r.branches[head], r.branches[base], draft=draft)
    issue = Issue(world.next_id(), number, title, body, actor, now, now,
                  via_app=_is_app(world, actor), pull=pull)
    r.issues[number] = issue
    _emit(world, r, issue, actor, "opened")
    return issue


def merge_pull(world: World, r: Repo, i: Issue, actor: Actor) -> str:
    """Merge: the base branch gets the head's files in a new commit; the PR closes."""
    assert i.pull is not None
    files = {**r.files(i.pull.base), **r.files(i.pull.head)}
    parents = tuple(p for p in (r.branches.get(i.pull.base), r.branches.get(i.pull.head)) if p)
    sha = world.commit(r, files, branch=i.pull.base, parents=parents)
    now = world.now()
    i.pull.merged, i.pull.merged_at, i.pull.merge_sha = True, now, sha
    i.state, i.closed_at, i.updated_at = "closed", now, now
    _emit(world, r, i, actor, "closed")
    return sha
