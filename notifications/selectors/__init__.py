"""Reads of the notifications app, one module per concern."""

from notifications.selectors.mutes import active_mute, active_mutes, mute_for
from notifications.selectors.preferences import preferences_for

__all__ = ["active_mute", "active_mutes", "mute_for", "preferences_for"]
