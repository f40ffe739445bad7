"""Reads of notification preferences."""

from accounts.models import User
from notifications.models import NotificationPreference


def preferences_for(user: User) -> NotificationPreference:
    """The person's stored preferences, or the defaults (unsaved) for a
    person who never chose."""
    stored = NotificationPreference.objects.filter(user=user).first()
    return stored if stored is not None else NotificationPreference(user=user)
