"""Reads of the notifications app, one module per concern."""

from notifications.selectors.preferences import preferences_for

__all__ = ["preferences_for"]
