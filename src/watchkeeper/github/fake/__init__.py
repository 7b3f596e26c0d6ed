"""A stateful, in-memory GitHub served at the HTTP layer, for tests, ``demo`` and ``simulate``.

Hand it to ``GitHubGateway(fake.app_id, fake.private_key, fake.api_url, transport=fake)`` and
the real client talks to it: JWT and installation tokens, issues, labels, comments, files,
refs, pull requests, check runs. Changes the app makes come back through ``on_event`` as the
webhooks GitHub would send (sender "<slug>[bot]"), and ``person_*`` methods act as humans.

    fake = FakeGitHub()
    fake.add_repo("acme/api", installation_id=7, files={".github/watchkeeper.yml": "..."})
    fake.fail_next("POST", r"/repos/acme/api/issues", 502, after=True)
"""

from __future__ import annotations

from watchkeeper.github.fake.keys import demo_private_key
from watchkeeper.github.fake.people import FakeControls
from watchkeeper.github.fake.state import Actor, Comment, Installation, Issue, Label, Pull, Repo
from watchkeeper.github.fake.transport import FakeTransport, RecordedRequest


class FakeGitHub(FakeControls, FakeTransport):
    """The transport plus the controls to set it up, inspect it and act in it."""


__all__ = [
    "Actor",
    "Comment",
    "FakeGitHub",
    "Installation",
    "Issue",
    "Label",
    "Pull",
    "RecordedRequest",
    "Repo",
    "demo_private_key",
]
