"""Notification tables: what a person wants (preferences, mutes), what they
were told (the in-app feed), where they can be reached (push subscriptions),
and the delivery records that make every send happen once."""

import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class DigestFrequency(models.TextChoices):
    OFF = "off", _("Off")
    DAILY = "daily", _("Daily")
    WEEKLY = "weekly", _("Weekly")


class Kind(models.TextChoices):
    """What a notification is about; each has its own preferences."""

    DIRECT = "direct", _("Direct messages")
    GROUP = "group", _("Group messages")
    MENTION = "mention", _("Mentions")
    SUPPORT = "support", _("Support request updates")
    ADDED = "added", _("Added to a conversation")
    THREAD_REPLY = "thread_reply", _("Replies in threads you follow")
    REMINDER = "reminder", _("Reminders you set")


class Channel(models.TextChoices):
    """How a person is reached."""

    IN_APP = "in_app", _("In the app")
    PUSH = "push", _("Push")
    EMAIL = "email", _("Email")


def default_kinds() -> dict[str, dict[str, bool]]:
    """Direct messages, mentions and support updates reach a person
    everywhere; being added shows in the app; replies in a followed thread
    show in the app and on devices (no email); busy groups stay quiet."""

    def reaching(*channels: Channel) -> dict[str, bool]:
        return {channel.value: channel in channels for channel in Channel}

    everywhere = (Channel.IN_APP, Channel.PUSH, Channel.EMAIL)
    return {
        Kind.DIRECT.value: reaching(*everywhere),
        Kind.GROUP.value: reaching(),
        Kind.MENTION.value: reaching(*everywhere),
        Kind.SUPPORT.value: reaching(*everywhere),
        Kind.ADDED.value: reaching(Channel.IN_APP),
        Kind.THREAD_REPLY.value: reaching(Channel.IN_APP, Channel.PUSH),
        Kind.REMINDER.value: reaching(*everywhere),
    }


class NotificationPreference(models.Model):
    """How a person wants to hear about messages while away. ``kinds`` maps
    each ``Kind`` to the ``Channel``s it uses (``default_kinds``);
    ``email_enabled`` and ``push_enabled`` switch a channel off for every
    kind (one-click unsubscribe clears ``email_enabled``)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="notification_preference",
    )
    email_enabled = models.BooleanField(default=True)
    push_enabled = models.BooleanField(default=True)
    kinds = models.JSONField(default=default_kinds)
    # Lock screens show "New message from X" rather than the text.
    push_show_content = models.BooleanField(default=True)
    # In the user's own time zone (``User.time_zone``); both set or neither.
    # A start after the end spans midnight (22:00–07:00).
    quiet_hours_start = models.TimeField(null=True, blank=True)
    quiet_hours_end = models.TimeField(null=True, blank=True)
    digest = models.CharField(
        max_length=10, choices=DigestFrequency.choices, default=DigestFrequency.DAILY
    )
    digest_hour = models.PositiveSmallIntegerField(default=8)  # local hour, 0–23
    digest_weekday = models.PositiveSmallIntegerField(default=0)  # weekly: 0 = Monday
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "notification_preferences"
        constraints = [
            models.CheckConstraint(
                condition=models.Q(digest_hour__lte=23), name="notification_digest_hour_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(digest_weekday__lte=6),
                name="notification_digest_weekday_valid",
            ),
            models.CheckConstraint(
                condition=models.Q(quiet_hours_start__isnull=True, quiet_hours_end__isnull=True)
                | models.Q(quiet_hours_start__isnull=False, quiet_hours_end__isnull=False),
                name="notification_quiet_hours_both_or_neither",
            ),
        ]

    def __str__(self):
        return f"Notifications for {self.user}"


class ConversationMute(models.Model):
    """A person silenced a conversation until ``until`` (null: for ever)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="conversation_mutes"
    )
    conversation = models.ForeignKey(
        "messaging.Conversation", on_delete=models.CASCADE, related_name="mutes"
    )
    until = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "conversation_mutes"
        constraints = [
            models.UniqueConstraint(
                fields=["user", "conversation"], name="conversation_mute_once_per_user"
            )
        ]

    def __str__(self):
        return f"{self.user} muted {self.conversation_id}"


class Notification(models.Model):
    """One thing a person was notified of. Shown in the notification centre
    when ``in_app``; push and email deliveries refer to it. At most one per
    (user, kind, message)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications"
    )
    kind = models.CharField(max_length=20, choices=Kind.choices)
    conversation = models.ForeignKey(
        "messaging.Conversation",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
    )
    message = models.ForeignKey(
        "messaging.Message", on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    in_app = models.BooleanField(default=True)
    # What the feed shows without another query: an excerpt, a status.
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "notifications"
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["user", "-created_at"], name="notifications_feed_idx"),
            models.Index(
                fields=["user", "conversation"],
                condition=models.Q(read_at__isnull=True),
                name="notifications_unread_idx",
            ),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "kind", "message"],
                condition=models.Q(message__isnull=False),
                name="notification_once_per_message",
            )
        ]

    def __str__(self):
        return f"{self.kind} for {self.user_id}"


class PushSubscription(models.Model):
    """One browser (device) of a person that accepts Web Push."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="push_subscriptions"
    )
    endpoint = models.URLField(max_length=1000, unique=True)
    p256dh = models.CharField(max_length=200)
    auth = models.CharField(max_length=100)
    device_name = models.CharField(max_length=200, blank=True, default="")
    # The session that subscribed ("" through an API token): logging out of
    # it, or a password change made elsewhere, ends the subscription with it.
    session_key = models.CharField(max_length=40, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    last_success_at = models.DateTimeField(null=True, blank=True)
    # Sends to this device ran out of retries (or its push service asked to
    # wait longer than a worker waits): nothing is sent to it until then,
    # so a device that never answers costs one delivery's attempts, not
    # every notification's (PUSH["REST_SECONDS"]).
    resting_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "push_subscriptions"

    def __str__(self):
        return f"Push for {self.user_id} ({self.device_name or 'browser'})"


class DeliveryState(models.TextChoices):
    PENDING = "pending", "Pending"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed"
    SKIPPED = "skipped", "Skipped"


class Delivery(models.Model):
    """One send to one person by one channel, written *before* sending: a
    retried task finds the row and sends nothing twice; only the run that
    claimed it, given back by a dead worker, sends again (services.mail,
    services.push).
    ``key`` names what was sent (``notification:<id>``,
    ``missed:<conversation>:<first seq>``, ``digest:daily:<date>``)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="deliveries"
    )
    channel = models.CharField(max_length=10, choices=Channel.choices)
    key = models.CharField(max_length=200)
    state = models.CharField(
        max_length=10, choices=DeliveryState.choices, default=DeliveryState.PENDING
    )
    attempts = models.PositiveIntegerField(default=0)
    # The task run (Celery task id) that claimed an email: the same run,
    # given back by a dead worker, may send it again (services.mail).
    claimed_by = models.CharField(max_length=255, blank=True, default="")
    error = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "notification_deliveries"
        verbose_name_plural = "deliveries"
        constraints = [
            models.UniqueConstraint(
                fields=["user", "channel", "key"], name="delivery_once_per_channel"
            )
        ]

    def __str__(self):
        return f"{self.channel} {self.key} to {self.user_id}: {self.state}"


class FanoutCursor(models.Model):
    """How far the fan-out has gone in a conversation: every message up to
    ``seq`` has been through ``services.fanout.notify_message``. A send does
    not queue a task of its own; the fan-out walks each conversation from
    its cursor (``services.fanout_cursor``). A conversation without a row
    has been told nothing yet."""

    conversation = models.OneToOneField(
        "messaging.Conversation",
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="fanout_cursor",
    )
    seq = models.BigIntegerField(default=0)

    class Meta:
        db_table = "notification_fanout_cursors"

    def __str__(self):
        return f"{self.conversation_id} told up to {self.seq}"
