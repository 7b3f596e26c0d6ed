"""The simulated organisation the story happens in: one repository with the app installed,
its workflows and a configuration file, and the people who respond."""

from __future__ import annotations

from watchkeeper.github.fake import FakeGitHub

REPO = "acme/payments-api"
INSTALLATION = 7
APP_ID = 4242
APP_SLUG = "watchkeeper"
SECRET_SCAN = ".github/workflows/secret-scan.yml"
CI = ".github/workflows/ci.yml"
BILLING = "config/billing.yml"

# login -> what they do in the story (all can write to the repository).
PEOPLE = {
    "alice": "security engineer, becomes Incident Commander",
    "bob": "security reviewer, becomes Security Owner",
    "carol": "backend developer, becomes Mitigation Owner",
    "dave": "backend developer, busy with something else",
}

FILES = {
    "README.md": "# payments-api\n\nCharges customers and talks to the billing provider.\n",
    BILLING: "provider: billing-co\ntoken: ${BILLING_TOKEN}\n",
    SECRET_SCAN: (
        "name: Secret scan\non: [push, pull_request]\njobs:\n  gitleaks:\n"
        "    runs-on: ubuntu-latest\n    steps:\n      - uses: actions/checkout@v4\n"
        "      - name: Scan for secrets\n        uses: gitleaks/gitleaks-action@v2\n"
    ),
    CI: (
        "name: CI\non: [push, pull_request]\njobs:\n  test:\n    runs-on: ubuntu-latest\n"
        "    steps:\n      - uses: actions/checkout@v4\n      - run: make test\n"
    ),
}


def build_world(fake: FakeGitHub) -> None:
    """The repository with the app installed, and the responders' write access."""
    fake.add_repo(REPO, installation_id=INSTALLATION, private=True, default_branch="main",
                  files=FILES)
    for login in PEOPLE:
        fake.set_permission(REPO, login, "write")


def commit(fake: FakeGitHub, path: str, text: str, message: str, *,
           branch: str | None = None) -> str:
    """A person pushes one file change; returns the new commit's SHA."""
    sha = fake.set_file(REPO, path, text, branch=branch)
    fake.repo(REPO).commit_meta[sha]["message"] = message
    return sha
