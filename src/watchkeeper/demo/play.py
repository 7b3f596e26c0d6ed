"""``watchkeeper demo``: set the stage, play the story, print what a responder reads."""

from __future__ import annotations

import contextlib
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, time
from typing import TextIO

from watchkeeper.demo.narrate import Narrator
from watchkeeper.demo.stage import Stage, stage
from watchkeeper.demo.story import Outcome, Story
from watchkeeper.demo.visible import strip_comments
from watchkeeper.demo.world import PEOPLE, REPO
from watchkeeper.github.fake import Issue


@dataclass(frozen=True, slots=True)
class Ending:
    """What the story left behind, as a responder reads it on GitHub."""

    outcome: Outcome
    issue: Issue
    postmortem_pull: int | None
    postmortem_branch: str | None
    postmortem_path: str | None
    postmortem: str | None  # the file on the postmortem branch

    @property
    def problems(self) -> list[str]:
        found = list(self.outcome.problems)
        if self.postmortem is None:
            found.append("no postmortem file was committed")
        return found


def story_day(start: datetime | None) -> datetime:
    """Midnight UTC of the story's day (default: today)."""
    day = (start or datetime.now(UTC)).astimezone(UTC).date()
    return datetime.combine(day, time(0), tzinfo=UTC)


@contextlib.asynccontextmanager
async def played(out: TextIO, *, start: datetime | None = None) -> AsyncIterator[
        tuple[Stage, Ending]]:
    """Play the story and print it; the stage stays up until the block ends (``--serve``)."""
    say = Narrator(out)
    day = story_day(start)
    async with stage(day) as st:
        say.say("Watchkeeper demo: a leaked credential, from the failing secret scan to the "
                "postmortem.")
        say.para("No credentials and no network: the real Watchkeeper server runs at "
                 f"{st.server_url} (SQLite in a temporary directory), against a simulated "
                 "GitHub that delivers signed webhooks to it over HTTP, including for the "
                 "app's own changes.")
        say.say()
        say.say(f"Repository {REPO} (private, app installed). People:")
        for login, role in PEOPLE.items():
            say.say(f"  {login:<6} {role}")
        outcome = await Story(st, say, day).play()
        ending = _ending(st, outcome)
        print_ending(say, ending)
        yield st, ending


def _ending(st: Stage, outcome: Outcome) -> Ending:
    closure = outcome.incident.closure
    text = None
    if closure.postmortem_path and closure.postmortem_branch:
        repo = closure.postmortem_repo or REPO
        text = st.fake.file(repo, closure.postmortem_path, branch=closure.postmortem_branch)
    return Ending(outcome, st.fake.issue(REPO, outcome.issue), closure.postmortem_pr,
                  closure.postmortem_branch, closure.postmortem_path, text)


def print_ending(say: Narrator, ending: Ending) -> None:
    issue = ending.issue
    say.rule(f"The incident issue: {REPO}#{issue.number} ({issue.state})")
    say.say(f"Title:  {issue.title}")
    say.say(f"Labels: {', '.join(issue.labels)}")
    if issue.assignees:
        say.say(f"Assignees: {', '.join(issue.assignees)}")
    say.say()
    say.say(_tidy(issue.body or ""))
    say.say()
    say.say(f"({len(issue.comments)} comments on the issue)")
    if ending.postmortem is not None:
        say.rule(f"The postmortem: {ending.postmortem_path}")
        say.say(f"On branch {ending.postmortem_branch}, in review as pull request "
                f"#{ending.postmortem_pull}.")
        say.say()
        say.say(_tidy(ending.postmortem))
    say.rule("Done")
    if ending.problems:
        say.say("Something did not go as the runbook says:")
        for problem in ending.problems:
            say.say(f"  - {problem}")
    else:
        say.para("Every step above went through the real server: signed webhook, durable "
                 "queue, worker, runbook decisions, GitHub API calls. Run `watchkeeper demo "
                 "--serve` to look at the issue and pull requests in a browser and to send "
                 "your own payloads.")


def _tidy(markdown: str) -> str:
    """As GitHub shows it (no hidden markers), without the blank runs they leave."""
    return re.sub(r"\n{3,}", "\n\n", strip_comments(markdown)).strip()


async def run(out: TextIO, *, start: datetime | None = None) -> Ending:
    async with played(out, start=start) as (_, ending):
        return ending
