"""The integrations' tables. Each integration's services are the only code
that writes its rows (``scheduling``, ``meetings``, ``webhooks``,
``assistant``)."""

import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class ScheduledState(models.TextChoices):
    SCHEDULED = "scheduled", _("Scheduled")
    SENT = "sent", _("Sent")
    CANCELLED = "cancelled", _("Cancelled")
    # Not sent: the author may no longer post there (left, archived, blocked).
    FAILED = "failed", _("Not sent")


class ScheduledMessage(models.Model):
    """A message written now and sent at ``send_at``. Its id is the sent
    message's ``client_id``: the send is idempotent however often the
    sending task runs."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="scheduled_messages"
    )
    conversation = models.ForeignKey(
        "messaging.Conversation", on_delete=models.CASCADE, related_name="scheduled_messages"
    )
    content = models.TextField()
    send_at = models.DateTimeField()
    # The zone the author chose the time in: the list shows it as they wrote it.
    time_zone = models.CharField(max_length=64, default="UTC")
    state = models.CharField(
        max_length=12, choices=ScheduledState.choices, default=ScheduledState.SCHEDULED
    )
    message = models.ForeignKey(
        "messaging.Message",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    # Why a FAILED one was not sent, in words for its author.
    failure = models.CharField(max_length=300, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "scheduled_messages"
        ordering = ["send_at"]
        indexes = [
            models.Index(fields=["state", "send_at"], name="scheduled_due_idx"),
            models.Index(fields=["author", "state", "send_at"], name="scheduled_author_idx"),
        ]

    def __str__(self):
        return f"Scheduled by {self.author_id} for {self.send_at:%Y-%m-%d %H:%M}"


class ReminderState(models.TextChoices):
    PENDING = "pending", _("Pending")
    FIRED = "fired", _("Fired")
    CANCELLED = "cancelled", _("Cancelled")


class Reminder(models.Model):
    """A person's "remind me about this message" at ``remind_at``; snoozing
    sets a later time and makes it pending again."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="reminders"
    )
    message = models.ForeignKey(
        "messaging.Message", on_delete=models.CASCADE, related_name="reminders"
    )
    remind_at = models.DateTimeField()
    note = models.CharField(max_length=500, blank=True, default="")
    state = models.CharField(
        max_length=12, choices=ReminderState.choices, default=ReminderState.PENDING
    )
    fired_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "reminders"
        ordering = ["remind_at"]
        indexes = [
            models.Index(fields=["state", "remind_at"], name="reminder_due_idx"),
            models.Index(fields=["user", "state", "remind_at"], name="reminder_user_idx"),
        ]

    def __str__(self):
        return f"Reminder for {self.user_id} at {self.remind_at:%Y-%m-%d %H:%M}"


class CalendarFeed(models.Model):
    """A person's iCalendar feed: whoever holds ``token`` reads it, so the
    person can rotate it."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="calendar_feed",
    )
    token = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    rotated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "calendar_feeds"

    def __str__(self):
        return f"Calendar feed of {self.user_id}"


class Meeting(models.Model):
    """A video call started in a conversation; ``message`` announces it
    there. The join link is made per person on request, for members only."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    conversation = models.ForeignKey(
        "messaging.Conversation", on_delete=models.CASCADE, related_name="meetings"
    )
    message = models.OneToOneField(
        "messaging.Message",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="meeting",
    )
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    # The provider's name (``meetings.providers``) when it was started.
    provider = models.CharField(max_length=20)
    # Unguessable: the provider's meeting id / room name.
    room = models.CharField(max_length=200, unique=True)
    title = models.CharField(max_length=200, blank=True, default="")
    starts_at = models.DateTimeField()
    duration_minutes = models.PositiveIntegerField(default=60)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "meetings"
        ordering = ["-starts_at"]
        indexes = [models.Index(fields=["conversation", "starts_at"], name="meeting_conv_idx")]

    def __str__(self):
        return f"Meeting {self.room}"


class BotKind(models.TextChoices):
    # Told of mentions and direct messages by a signed HTTP POST.
    WEBHOOK = "webhook", _("Outgoing webhook")
    # Answers through an OpenAI-compatible chat-completions endpoint.
    ASSISTANT = "assistant", _("AI assistant")


class Bot(models.Model):
    """A bot: a user of role ``bot`` (no password; an API token) owned by a
    person."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, primary_key=True, related_name="bot"
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="owned_bots"
    )
    kind = models.CharField(max_length=12, choices=BotKind.choices, default=BotKind.WEBHOOK)
    # Where a webhook bot is told of mentions and direct messages; empty: nowhere.
    outgoing_url = models.URLField(max_length=500, blank=True, default="")
    # HMAC-SHA256 key of the outgoing requests' signatures.
    signing_secret = models.CharField(max_length=64)
    # The assistant's instructions (its system prompt), set by an admin.
    instructions = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "bots"

    def __str__(self):
        return f"Bot {self.user_id}"


class IncomingWebhook(models.Model):
    """A secret URL that posts Slack-compatible JSON into ``conversation``
    as ``bot``. Only the token's SHA-256 is stored."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    conversation = models.ForeignKey(
        "messaging.Conversation", on_delete=models.CASCADE, related_name="incoming_webhooks"
    )
    bot = models.ForeignKey(Bot, on_delete=models.CASCADE, related_name="incoming_webhooks")
    name = models.CharField(max_length=100)
    token_hash = models.CharField(max_length=64, unique=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "incoming_webhooks"
        ordering = ["-created_at"]

    def __str__(self):
        return self.name


class DeliveryState(models.TextChoices):
    PENDING = "pending", _("Pending")
    DELIVERED = "delivered", _("Delivered")
    FAILED = "failed", _("Failed")


class OutgoingDelivery(models.Model):
    """One message told to one bot's URL: at most one row per (bot,
    message), so a redelivered task posts nothing twice once delivered."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    bot = models.ForeignKey(Bot, on_delete=models.CASCADE, related_name="deliveries")
    message = models.ForeignKey("messaging.Message", on_delete=models.CASCADE, related_name="+")
    state = models.CharField(
        max_length=12, choices=DeliveryState.choices, default=DeliveryState.PENDING
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    last_status = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "outgoing_webhook_deliveries"
        verbose_name_plural = _("outgoing deliveries")
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["bot", "message"], name="outgoing_once_per_message")
        ]
        indexes = [models.Index(fields=["state", "created_at"], name="outgoing_state_idx")]

    def __str__(self):
        return f"{self.bot_id} ← {self.message_id} ({self.state})"


__all__ = [
    "Bot",
    "BotKind",
    "CalendarFeed",
    "DeliveryState",
    "IncomingWebhook",
    "Meeting",
    "OutgoingDelivery",
    "Reminder",
    "ReminderState",
    "ScheduledMessage",
    "ScheduledState",
]
