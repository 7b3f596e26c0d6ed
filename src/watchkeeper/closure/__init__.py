"""Closing an incident: the runbook's Definition of Done, the postmortem pull request and
the preventive actions it names, followed to follow-up issues.

Pure: decisions over the record and parsed payloads; the I/O shell is
features/closure.py and the Git work is github/postmortem_pr.py.
"""
