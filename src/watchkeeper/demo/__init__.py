"""``watchkeeper demo``: the real server against a simulated GitHub, playing the runbook.

- stage.py: the real app (``wiring.create_app`` under uvicorn, SQLite in a temporary
  directory, a generated key and webhook secret) and the simulated GitHub
  (``github.fake``) as its transport; delivery.py signs and POSTs every webhook the
  simulated GitHub announces back to the server, as GitHub does.
- story.py: the steps (people and GitHub acting), narrate.py / observe.py: what the app did.
- play.py: the whole run and its ending (the issue and the postmortem as people read them).
- page.py, markdown.py, html.py: ``--serve``'s read-only page (needs the ``demo`` extra).

Nothing is imported here: ``watchkeeper --help`` stays fast.
"""
