"""Failure kinds the worker understands.

Processors raise these to tell the worker what to do with a delivery: try it
again later (GitHub 5xx, timeouts, rate limits) or give up and keep it as a
dead letter for inspection. Anything else is treated as retryable, because an
unknown failure is more often transient than not, and attempts are bounded.
"""

from __future__ import annotations


class RetryableError(Exception):
    """Try the delivery again; never before ``retry_after`` seconds from now."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class PermanentError(Exception):
    """Retrying cannot help (bad payload, permission removed): dead-letter it."""
