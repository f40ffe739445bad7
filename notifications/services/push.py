"""Web Push hand-off of the fan-out. Implemented by the Web Push work."""

from notifications.models import Notification


def enqueue_for(notifications: list[Notification]) -> None:
    """Implemented by the Web Push work.

    Called by ``fanout`` after commit with the notifications whose channels
    include push (possibly ones handed over before: a redelivered fan-out
    hands them over again, and the push work's delivery records make that
    harmless). Quiet hours and the push master switch are the push work's
    to apply at send time."""
