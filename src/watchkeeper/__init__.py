"""Watchkeeper: a GitHub App that runs a security incident-response runbook inside GitHub."""

__version__ = "0.1.0"
