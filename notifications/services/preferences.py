"""Writes for notification preferences. The admin (and, later, the settings
page and the delivery tasks) call these; nothing else writes the table."""

from accounts.models import User
from notifications.models import DigestFrequency, NotificationPreference


def update_preferences(
    *,
    user: User,
    email_enabled: bool | None = None,
    push_enabled: bool | None = None,
    digest: str | None = None,
) -> NotificationPreference:
    """Set the given preferences of ``user`` (the others keep their value, or
    the defaults for a person who never chose); returns the stored row."""
    if digest is not None and digest not in DigestFrequency.values:
        raise ValueError(f"Unknown digest frequency {digest!r}.")
    changes = {
        name: value
        for name, value in {
            "email_enabled": email_enabled,
            "push_enabled": push_enabled,
            "digest": digest,
        }.items()
        if value is not None
    }
    preference, created = NotificationPreference.objects.get_or_create(user=user, defaults=changes)
    if not created and changes:
        for name, value in changes.items():
            setattr(preference, name, value)
        preference.save(update_fields=[*changes, "updated_at"])
    return preference
