"""Writes of the notifications app, one module per concern: ``preferences``,
``mutes``, ``feed`` (the in-app centre), ``fanout`` (who hears of a
message), ``push``, ``missed_email``, ``digests``. Nothing else writes these
tables."""

from notifications.services.mutes import mute_conversation, unmute_conversation
from notifications.services.preferences import update_preferences

__all__ = ["mute_conversation", "unmute_conversation", "update_preferences"]
