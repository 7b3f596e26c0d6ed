"""Event routing: which pure parser turns which webhook into Signals.

Each signal source module owns a small Router; `default_router()` composes them in
one place. Parsers run in registration order, so the same delivery always yields
the same signals in the same order.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from watchkeeper.signals.model import Signal
from watchkeeper.signals.payload import MalformedPayload

__all__ = ["MalformedPayload", "Parser", "Router", "default_router"]

Parser = Callable[..., Signal | None]  # (payload, *, received_at=None) -> Signal | None


@dataclass(frozen=True, slots=True)
class _Route:
    event: str
    actions: frozenset[str]  # empty: every action
    parser: Parser


class Router:
    def __init__(self) -> None:
        self._routes: list[_Route] = []

    def register(self, event: str, parser: Parser, *, actions: Iterable[str] = ()) -> None:
        """Route `event` (limited to `actions` when given) to `parser`."""
        self._routes.append(_Route(event, frozenset(actions), parser))

    def include(self, other: Router) -> None:
        """Append another router's routes, keeping their order."""
        self._routes.extend(other._routes)

    def handles(self, event: str, action: str | None = None) -> bool:
        return any(self._applies(r, event, action) for r in self._routes)

    @staticmethod
    def _applies(route: _Route, event: str, action: str | None) -> bool:
        return route.event == event and (not route.actions or action in route.actions)

    def route(
        self, event: str, payload: Mapping[str, Any], *, received_at: datetime | None = None
    ) -> list[Signal]:
        """The signals `payload` yields. Raises MalformedPayload, never anything else,
        for a payload a parser cannot read. `received_at` (the delivery's receipt time)
        stands in when a payload carries no usable time of its own.
        """
        if not isinstance(payload, Mapping):
            raise MalformedPayload("payload is not a JSON object")
        action = payload.get("action")
        action = action if isinstance(action, str) else None
        signals: list[Signal] = []
        for route in self._routes:
            if not self._applies(route, event, action):
                continue
            try:
                signal = route.parser(payload, received_at=received_at)
            except MalformedPayload:
                raise
            except (KeyError, TypeError, AttributeError, ValueError, IndexError) as exc:
                raise MalformedPayload(f"{event}: {type(exc).__name__}") from exc
            if signal is not None:
                signals.append(signal)
        return signals


def default_router() -> Router:
    """All five security signal sources, in a fixed order."""
    # Imported here: the source modules import Router from this module.
    from watchkeeper.signals import (
        check_run,
        code_scanning,
        dependabot,
        secret_scanning,
        workflow_run,
    )

    router = Router()
    for module in (workflow_run, check_run, code_scanning, secret_scanning, dependabot):
        router.include(module.router)
    return router
