"""The seed's messaging tables, plus the columns reliable delivery needs.

Table and column names follow the product brief (``conversations``,
``conversation_participants``, ``messages``, ``message_status``,
``user_presence``). Additions are named in each model's docstring.
"""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class ConversationType(models.TextChoices):
    DIRECT = "direct", _("Direct")
    GROUP = "group", _("Group")
    SUPPORT = "support", _("Support")


class Conversation(models.Model):
    """A conversation. Beyond the seed: ``title``, ``created_by``,
    ``archived_at``, ``last_seq`` (the per-conversation sequence counter),
    ``last_message_at`` (inbox ordering) and ``direct_key`` (one direct
    conversation per pair of people)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    type = models.CharField(max_length=20, choices=ConversationType.choices)
    title = models.CharField(max_length=200, blank=True, default="")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    metadata = models.JSONField(default=dict, blank=True)
    archived_at = models.DateTimeField(null=True, blank=True)
    last_seq = models.BigIntegerField(default=0)
    last_message_at = models.DateTimeField(null=True, blank=True)
    # NULL for group and support conversations, so the UNIQUE constraint
    # applies to direct ones only.
    direct_key = models.CharField(  # noqa: DJ001
        max_length=80, null=True, blank=True, editable=False
    )

    class Meta:
        db_table = "conversations"
        ordering = ["-last_message_at", "-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["direct_key"], name="uniq_direct_pair"),
            models.CheckConstraint(
                condition=Q(type__in=ConversationType.values), name="conversation_type_valid"
            ),
            models.CheckConstraint(condition=Q(last_seq__gte=0), name="last_seq_not_negative"),
        ]

    def __str__(self):
        return self.title or f"{self.get_type_display()} {str(self.id)[:8]}"

    @property
    def is_archived(self) -> bool:
        return self.archived_at is not None

    @property
    def group_name(self) -> str:
        """The channel-layer group every member's socket joins."""
        return f"conv.{self.id.hex}"


class ParticipantRole(models.TextChoices):
    ADMIN = "admin", _("Admin")
    MEMBER = "member", _("Member")


class ActiveParticipantQuerySet(models.QuerySet):
    def active(self):
        return self.filter(left_at__isnull=True)


class ConversationParticipant(models.Model):
    """Membership. Beyond the seed: ``last_read_seq`` and
    ``last_delivered_seq`` cursors, so unread counts are a subtraction."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    conversation = models.ForeignKey(
        Conversation, on_delete=models.CASCADE, related_name="participants"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="participations"
    )
    joined_at = models.DateTimeField(auto_now_add=True)
    left_at = models.DateTimeField(null=True, blank=True)
    role = models.CharField(
        max_length=20, choices=ParticipantRole.choices, default=ParticipantRole.MEMBER
    )
    last_read_seq = models.BigIntegerField(default=0)
    last_delivered_seq = models.BigIntegerField(default=0)
    # Archived by this person for themselves (not the conversation's own
    # archive): it leaves their inbox until a message newer than this
    # arrives, unless they also muted it.
    archived_at = models.DateTimeField(null=True, blank=True)

    objects = ActiveParticipantQuerySet.as_manager()

    class Meta:
        db_table = "conversation_participants"
        constraints = [
            models.UniqueConstraint(fields=["conversation", "user"], name="uniq_participant"),
        ]
        indexes = [
            models.Index(fields=["user", "left_at"], name="participant_user_active_idx"),
        ]

    def __str__(self):
        return f"{self.user} in {self.conversation}"

    @property
    def is_active(self) -> bool:
        return self.left_at is None


class MessageType(models.TextChoices):
    TEXT = "text", _("Text")
    FILE = "file", _("File")
    IMAGE = "image", _("Image")
    SYSTEM = "system", _("System")
    # A video call started in the conversation (messaging.integrations.meetings).
    MEETING = "meeting", _("Meeting")
    # End-to-end encrypted (messaging.e2e): empty content, the ciphertext in
    # the message's ``e2e`` metadata.
    ENCRYPTED = "encrypted", _("Encrypted")


class Message(models.Model):
    """A message. Beyond the seed: ``seq`` (contiguous per conversation),
    ``client_id`` (the sender's idempotency key), ``hidden_at``, and the
    columns of ``messaging.threads``: ``parent`` (the root of the thread a
    reply belongs to), ``reply_to`` (the message a reply quotes),
    ``also_to_conversation`` (a thread reply also shown in the main stream)
    and ``content_html`` (``content`` rendered from Markdown and sanitized,
    once, when it is written)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    conversation = models.ForeignKey(
        Conversation, on_delete=models.CASCADE, related_name="messages"
    )
    sender = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="messages_sent",
    )
    content = models.TextField(blank=True, default="")
    message_type = models.CharField(
        max_length=20, choices=MessageType.choices, default=MessageType.TEXT
    )
    file_url = models.TextField(blank=True, default="")
    sent_at = models.DateTimeField(default=timezone.now)
    edited_at = models.DateTimeField(null=True, blank=True)
    deleted_at = models.DateTimeField(null=True, blank=True)
    # Hidden by a moderator (``messaging.moderation``): members see a
    # placeholder until it is restored; the content is kept for moderators.
    hidden_at = models.DateTimeField(null=True, blank=True)
    metadata = models.JSONField(default=dict, blank=True)
    seq = models.BigIntegerField()
    client_id = models.UUIDField(null=True, blank=True)
    # Threads and replies (messaging.threads). A thread reply names its
    # thread's root; replies to a reply join the root's thread.
    parent = models.ForeignKey(
        "self", on_delete=models.CASCADE, null=True, blank=True, related_name="replies"
    )
    # The message a reply quotes (in the stream or in a thread).
    reply_to = models.ForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # Defaults in the database too: rows written with SQL (imports, the
    # bench's data) need not name the new columns.
    also_to_conversation = models.BooleanField(default=False, db_default=False)
    content_html = models.TextField(blank=True, default="", db_default="")

    class Meta:
        db_table = "messages"
        # By the column, not the relation: "conversation" would join
        # conversations and sort by its own ordering first.
        ordering = ["conversation_id", "seq"]
        constraints = [
            # Also the index that serves history by (conversation, seq).
            models.UniqueConstraint(fields=["conversation", "seq"], name="uniq_message_seq"),
            models.UniqueConstraint(fields=["sender", "client_id"], name="uniq_sender_client_id"),
            models.CheckConstraint(condition=Q(seq__gte=1), name="message_seq_positive"),
        ]
        indexes = [
            models.Index(fields=["sender", "sent_at"], name="message_sender_sent_idx"),
            # A thread's replies by seq (history of a thread, paged).
            models.Index(
                fields=["parent", "seq"],
                name="message_parent_seq_idx",
                condition=Q(parent__isnull=False),
            ),
            # The thread-only replies of a conversation by seq: the main
            # stream's unread count leaves them out (``messaging.inbox.rules.unread``)
            # with an index-only count of the few above a read cursor.
            models.Index(
                fields=["conversation", "seq"],
                name="message_thread_only_idx",
                condition=Q(parent__isnull=False, also_to_conversation=False),
            ),
        ]

    def __str__(self):
        return f"#{self.seq} in {self.conversation_id}"

    @property
    def in_main_stream(self) -> bool:
        """Shown in the conversation's main stream: not a thread reply, or
        one also sent to the conversation."""
        return self.parent_id is None or self.also_to_conversation

    @property
    def is_deleted(self) -> bool:
        return self.deleted_at is not None

    @property
    def is_hidden(self) -> bool:
        return self.hidden_at is not None


class ReceiptStatus(models.TextChoices):
    DELIVERED = "delivered", _("Delivered")
    READ = "read", _("Read")


class MessageStatus(models.Model):
    """Per-member delivered / read state of one message."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="statuses")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="message_statuses"
    )
    status = models.CharField(max_length=20, choices=ReceiptStatus.choices)
    timestamp = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "message_status"
        verbose_name_plural = _("message statuses")
        constraints = [
            models.UniqueConstraint(fields=["message", "user"], name="uniq_message_status"),
        ]

    def __str__(self):
        return f"{self.user} {self.status} {self.message_id}"


class PresenceStatus(models.TextChoices):
    ONLINE = "online", _("Online")
    AWAY = "away", _("Away")
    OFFLINE = "offline", _("Offline")


class UserPresence(models.Model):
    """The durable side of presence: the last status and ``last_seen``.
    Live presence is kept in Redis (or memory) by ``messaging.realtime.presence``."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="presence",
    )
    status = models.CharField(
        max_length=20, choices=PresenceStatus.choices, default=PresenceStatus.OFFLINE
    )
    last_seen = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "user_presence"
        verbose_name_plural = "user presence"

    def __str__(self):
        return f"{self.user}: {self.status}"


class AuditAction(models.TextChoices):
    CONVERSATION_CREATE = "conversation.create"
    CONVERSATION_UPDATE = "conversation.update"
    CONVERSATION_ARCHIVE = "conversation.archive"
    CONVERSATION_UNARCHIVE = "conversation.unarchive"
    PARTICIPANT_ADD = "participant.add"
    PARTICIPANT_REMOVE = "participant.remove"
    MESSAGE_SEND = "message.send"
    MESSAGE_EDIT = "message.edit"
    MESSAGE_DELETE = "message.delete"
    READ_MARK = "read.mark"
    ACCESS_DENIED = "access.denied"
    PASSWORD_CHANGED = "auth.password_changed"
    LOCKED_OUT = "auth.locked_out"
    # The admin's account pages and actions (accounts.services).
    ACCOUNT_CREATE = "account.create"
    ACCOUNT_CHANGE = "account.change"
    MENTOR_ASSIGN = "mentor.assign"
    MENTOR_UNASSIGN = "mentor.unassign"
    FILE_UPLOAD = "file.upload"
    FILE_DOWNLOAD = "file.download"
    FILE_DISCARD = "file.discard"
    FILE_PURGE = "file.purge"
    SUPPORT_OPEN = "support.open"
    SUPPORT_STATUS = "support.status"
    SUPPORT_ASSIGN = "support.assign"
    SUPPORT_PRIORITY = "support.priority"
    SUPPORT_RATE = "support.rate"
    SUPPORT_IMPORT = "support.import"
    # Moderation (messaging.moderation)
    MESSAGE_HIDE = "message.hide"
    MESSAGE_RESTORE = "message.restore"
    REPORT = "moderation.report"
    BLOCK = "person.block"
    UNBLOCK = "person.unblock"
    FILTER_HIT = "moderation.filter_hit"
    FILTER_RULE_CHANGE = "moderation.rule_change"
    CASE_DISMISS = "moderation.dismiss"
    WARN = "moderation.warn"
    MUTE = "moderation.mute"
    UNMUTE = "moderation.unmute"
    DEACTIVATE = "moderation.deactivate"
    REVIEW_CONVERSATION = "moderation.review"
    LIMITS_CHANGE = "moderation.limits_change"
    # Reactions, pins and link previews (messaging.threads)
    REACTION_ADD = "reaction.add"
    REACTION_REMOVE = "reaction.remove"
    PIN = "message.pin"
    UNPIN = "message.unpin"
    PREVIEW_REMOVE = "preview.remove"
    # Video calls (messaging.integrations.meetings)
    MEETING_START = "meeting.start"
    MEETING_JOIN = "meeting.join"
    # The AI assistant (messaging.integrations.assistant): one row per call
    # of the endpoint, without the content.
    ASSISTANT_ANSWER = "assistant.answer"
    ASSISTANT_SUMMARY = "assistant.summary"
    # Reminders and the calendar feed (messaging.integrations.reminders, .calendar)
    REMINDER_CREATE = "reminder.create"
    REMINDER_SNOOZE = "reminder.snooze"
    REMINDER_CANCEL = "reminder.cancel"
    CALENDAR_FEED_ROTATE = "calendar.rotate"
    # Scheduled messages (messaging.integrations.scheduling)
    SCHEDULED_CREATE = "scheduled.create"
    SCHEDULED_EDIT = "scheduled.edit"
    SCHEDULED_CANCEL = "scheduled.cancel"
    SCHEDULED_SEND = "scheduled.send"
    SCHEDULED_FAIL = "scheduled.fail"
    # Bots and webhooks (messaging.integrations.bots, .webhooks)
    BOT_CREATE = "bot.create"
    BOT_UPDATE = "bot.update"
    BOT_TOKEN_ROTATE = "bot.token_rotate"
    BOT_DEACTIVATE = "bot.deactivate"
    WEBHOOK_CREATE = "webhook.create"
    WEBHOOK_REVOKE = "webhook.revoke"
    # End-to-end encryption (messaging.e2e): events, never content or keys.
    E2E_DEVICE_ADD = "e2e.device_add"
    E2E_DEVICE_APPROVE = "e2e.device_approve"
    E2E_DEVICE_REVOKE = "e2e.device_revoke"
    E2E_KEY_ROTATE = "e2e.key_rotate"
    E2E_RECOVERY_SET = "e2e.recovery_set"


class AuditLog(models.Model):
    """Append-only record of messaging activity.

    Conversation, message and target are plain ids, not foreign keys, so the
    record outlives what it describes. The database refuses UPDATE and
    DELETE: a trigger on PostgreSQL (migration 0002) and on SQLite
    (migration 0009).
    """

    id = models.BigAutoField(primary_key=True)
    at = models.DateTimeField(auto_now_add=True, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        null=True,
        blank=True,
        related_name="+",
    )
    action = models.CharField(max_length=40, choices=AuditAction.choices)
    # The person the action was about (added, removed, warned, muted,
    # blocked, whose message was hidden…), when it is someone else.
    target_user_id = models.UUIDField(null=True, blank=True, db_index=True)
    conversation_id = models.UUIDField(null=True, blank=True, db_index=True)
    message_id = models.UUIDField(null=True, blank=True)
    details = models.JSONField(default=dict, blank=True)

    class Meta:
        db_table = "messaging_audit_log"
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["actor", "at"], name="audit_actor_at_idx")]

    def __str__(self):
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.action}"


class AuditRepeat(models.Model):
    """How many times what a row records happened within its window, the
    first included: an ``access.denied`` (``AUDIT_DENIAL_WINDOW_SECONDS``)
    or a ``file.download`` (``AUDIT_DOWNLOAD_WINDOW_SECONDS``).

    The audit log stays append-only; repeats of one refusal (same actor,
    attempt, conversation and reason), or of one person's fetch of one
    file, within a window add to this count rather than write rows
    (``messaging.audit.record_repeated``). It is the one audit figure that
    changes, and only upwards while its window is open.
    """

    entry = models.OneToOneField(
        AuditLog, on_delete=models.CASCADE, primary_key=True, related_name="repeat"
    )
    # A digest of who, what, where, why and the window's number: one row per window.
    window = models.CharField(max_length=64, unique=True)
    count = models.PositiveIntegerField(default=1)
    last_at = models.DateTimeField()

    class Meta:
        db_table = "messaging_audit_repeat"

    def __str__(self):
        return f"{self.entry} ×{self.count}"


# Capability packages keep their tables beside their code; Django finds an
# app's models through this module.
from messaging.e2e.models import (  # noqa: E402, F401
    ConversationKey,
    Device,
    EncryptedConversation,
    KeyEnvelope,
    RecoveryBackup,
)
from messaging.files.models import Attachment  # noqa: E402, F401
from messaging.integrations.models import (  # noqa: E402, F401
    Bot,
    CalendarFeed,
    IncomingWebhook,
    Meeting,
    OutgoingDelivery,
    Reminder,
    ScheduledMessage,
)
from messaging.moderation.models import (  # noqa: E402, F401
    CaseStatus,
    FilterAction,
    FilterHit,
    FilterKind,
    FilterRule,
    ModerationCase,
    Mute,
    Report,
    ReportReason,
    RoleLimits,
    UserBlock,
    Warning,
)
from messaging.search.models import SearchDocument  # noqa: E402, F401
from messaging.support.models import (  # noqa: E402, F401
    SupportCategory,
    SupportPriority,
    SupportRequest,
    SupportStatus,
)
from messaging.threads.models import (  # noqa: E402, F401
    LinkPreview,
    Pin,
    PreviewState,
    Reaction,
    SavedMessage,
    Thread,
    ThreadFollow,
)
