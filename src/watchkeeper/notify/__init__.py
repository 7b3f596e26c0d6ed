"""Outgoing notifications: the Communications Owner's channels.

Pure parts only: the `Notify` action, the operator's targets (parsed from server
settings), the messages, and `notifications_for`, which any feature calls to append
notifications for its event. Sending lives in watchkeeper.notifier (HTTP) and
watchkeeper.features.notify (executor and worker wiring).
"""

from watchkeeper.notify.action import EVENTS, Notify
from watchkeeper.notify.plan import notifications_for
from watchkeeper.notify.targets import NotifyTarget, TargetError, parse_targets

__all__ = ["EVENTS", "Notify", "NotifyTarget", "TargetError", "notifications_for",
           "parse_targets"]
