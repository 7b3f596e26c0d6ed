"""Everything that talks to GitHub; the only package that imports githubkit.

- ``client.GitHubGateway``: the REST calls, paced per installation, errors mapped to
  ``RetryableError`` / ``PermanentError`` (the worker is the only retrier).
- ``executor.Executor``: performs decided actions idempotently; ``PlanningExecutor`` plans them.
- ``repo_config.fetch_config_texts``: the repository's and the organisation's config files.
- ``fake.FakeGitHub``: a stateful in-memory GitHub the real client runs against.
"""
