"""Features plug into the runtime: each module's `install(runtime)` registers its webhook
handlers (`runtime.pipeline.on(event, handler)`), executor actions
(`runtime.pipeline.executor.register(ActionType, handler)`), HTTP routes
(`runtime.routes.append(Route(...))`) and background jobs (`runtime.jobs.append(job)`).

Their pure decisions live in their own packages; a feature module is the thin I/O shell.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from watchkeeper.wiring import Runtime

# Installed in this order. A feature's handlers run in registration order.
FEATURES: tuple[str, ...] = ("responders", "declare", "alarms", "notify", "slaclock",
                            "evidence", "closure", "freeze", "reconcile", "refresh")


def install_all(runtime: Runtime) -> None:
    for name in FEATURES:
        module = importlib.import_module(f"watchkeeper.features.{name}")
        module.install(runtime)
