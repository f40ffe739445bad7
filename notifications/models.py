from django.conf import settings
from django.db import models


class DigestFrequency(models.TextChoices):
    OFF = "off", "Off"
    DAILY = "daily", "Daily"
    WEEKLY = "weekly", "Weekly"


class NotificationPreference(models.Model):
    """How a person wants to hear about messages while away."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="notification_preference",
    )
    email_enabled = models.BooleanField(default=True)
    push_enabled = models.BooleanField(default=True)
    digest = models.CharField(
        max_length=10, choices=DigestFrequency.choices, default=DigestFrequency.DAILY
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "notification_preferences"

    def __str__(self):
        return f"Notifications for {self.user}"
