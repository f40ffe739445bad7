"""Tables of replies and threads, reactions, pins, saved messages and link
previews. The seed's ``messages`` table keeps the message itself; its new
columns (``parent``, ``reply_to``, ``also_to_conversation``,
``content_html``) are declared on ``messaging.models.Message``."""

import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class Thread(models.Model):
    """What the main stream shows under a thread's root message: how many
    replies, when the last one came, who wrote the last few. Written in the
    reply's transaction, under the conversation's lock (the seq claim), so
    two replies never lose a count."""

    root = models.OneToOneField(
        "messaging.Message", on_delete=models.CASCADE, primary_key=True, related_name="thread"
    )
    conversation = models.ForeignKey(
        "messaging.Conversation", on_delete=models.CASCADE, related_name="threads"
    )
    reply_count = models.PositiveIntegerField(default=0)
    last_reply_at = models.DateTimeField(null=True, blank=True)
    last_reply_seq = models.BigIntegerField(default=0)
    # The last few distinct repliers, newest first, as user payloads
    # (``events.user_payload``): the stream shows them without a query.
    last_repliers = models.JSONField(default=list, blank=True)

    class Meta:
        db_table = "message_threads"
        indexes = [
            models.Index(fields=["conversation", "-last_reply_at"], name="thread_conv_last_idx")
        ]

    def __str__(self):
        return f"thread of {self.root_id} ({self.reply_count})"


class ThreadFollow(models.Model):
    """A person's relation to one thread: whether they follow it (the root's
    author and every replier do, and anyone who chose to) and how far they
    have read it (``last_read_seq``, a seq of the conversation)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="thread_follows"
    )
    thread = models.ForeignKey(Thread, on_delete=models.CASCADE, related_name="follows")
    following = models.BooleanField(default=True)
    last_read_seq = models.BigIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "thread_follows"
        constraints = [
            models.UniqueConstraint(fields=["user", "thread"], name="uniq_thread_follow"),
        ]
        indexes = [models.Index(fields=["user", "following"], name="thread_follow_user_idx")]

    def __str__(self):
        return f"{self.user_id} follows {self.thread_id}"


class Reaction(models.Model):
    """One person's emoji on one message: one row per (message, user, emoji)."""

    id = models.BigAutoField(primary_key=True)
    message = models.ForeignKey(
        "messaging.Message", on_delete=models.CASCADE, related_name="reactions"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="reactions"
    )
    emoji = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "message_reactions"
        constraints = [
            models.UniqueConstraint(fields=["message", "user", "emoji"], name="uniq_reaction"),
        ]

    def __str__(self):
        return f"{self.emoji} by {self.user_id} on {self.message_id}"


class Pin(models.Model):
    """A message pinned to its conversation (at most once)."""

    message = models.OneToOneField(
        "messaging.Message", on_delete=models.CASCADE, primary_key=True, related_name="pin"
    )
    conversation = models.ForeignKey(
        "messaging.Conversation", on_delete=models.CASCADE, related_name="pins"
    )
    pinned_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    pinned_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "message_pins"
        indexes = [models.Index(fields=["conversation", "-pinned_at"], name="pin_conv_idx")]

    def __str__(self):
        return f"pin of {self.message_id}"


class SavedMessage(models.Model):
    """A message a person saved for themselves (their "Saved" list)."""

    id = models.BigAutoField(primary_key=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="saved_messages"
    )
    message = models.ForeignKey("messaging.Message", on_delete=models.CASCADE, related_name="+")
    saved_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "saved_messages"
        constraints = [
            models.UniqueConstraint(fields=["user", "message"], name="uniq_saved_message"),
        ]
        indexes = [models.Index(fields=["user", "-saved_at"], name="saved_user_idx")]

    def __str__(self):
        return f"{self.message_id} saved by {self.user_id}"


class PreviewState(models.TextChoices):
    PENDING = "pending", _("Pending")
    READY = "ready", _("Ready")
    FAILED = "failed", _("Failed")
    REMOVED = "removed", _("Removed by the sender")


class LinkPreview(models.Model):
    """The card of the first link in a message (``PARLEY_LINK_PREVIEWS``).
    The image, when there is one, was re-encoded like an upload's thumbnail
    and is stored under ``image_name`` in the default storage."""

    message = models.OneToOneField(
        "messaging.Message", on_delete=models.CASCADE, primary_key=True, related_name="link_preview"
    )
    url = models.URLField(max_length=2000)
    state = models.CharField(
        max_length=10, choices=PreviewState.choices, default=PreviewState.PENDING
    )
    title = models.CharField(max_length=300, blank=True, default="")
    description = models.TextField(blank=True, default="")
    site_name = models.CharField(max_length=200, blank=True, default="")
    image_name = models.CharField(max_length=300, blank=True, default="")
    image_width = models.PositiveIntegerField(null=True, blank=True)
    image_height = models.PositiveIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    fetched_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "link_previews"

    def __str__(self):
        return f"preview of {self.url}"
