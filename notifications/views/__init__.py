"""Pages of the notifications app, one module per concern."""

from notifications.views.preferences import mute, notification_settings, unsubscribe
from notifications.views.push import push_settings, service_worker

__all__ = ["mute", "notification_settings", "push_settings", "service_worker", "unsubscribe"]
