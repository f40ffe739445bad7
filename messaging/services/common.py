"""What the messaging services share: input checks, the write transaction,
the conversation lock, membership checks, appending a message under the next
seq, cursors and membership announcements. Internal to ``messaging.services``."""

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from accounts.models import Role, User
from messaging import audit, events
from messaging.errors import (
    AccessDenied,
    ConversationArchived,
    InvalidInput,
    NotFound,
)
from messaging.models import (
    Conversation,
    ConversationParticipant,
    Message,
    MessageStatus,
    MessageType,
    ParticipantRole,
    ReceiptStatus,
)

LIMITS = settings.PARLEY


@dataclass(frozen=True)
class SendResult:
    message: Message
    created: bool


# --- Input checks -------------------------------------------------------------


def parse_uuid(value, *, what: str) -> uuid.UUID:
    if isinstance(value, uuid.UUID):
        return value
    try:
        return uuid.UUID(str(value))
    except (ValueError, TypeError, AttributeError):
        raise InvalidInput(f"{what} must be a UUID.") from None


def clean_content(content) -> str:
    if not isinstance(content, str):
        raise InvalidInput("content must be text.")
    if not content.strip():
        raise InvalidInput("A message cannot be empty.")
    limit = LIMITS["MAX_CONTENT_CHARS"]
    if len(content) > limit:
        raise InvalidInput(f"A message has at most {limit} characters.", code="too_long")
    if "\x00" in content:
        raise InvalidInput("content must not contain NUL characters.")
    return content


def clean_title(title) -> str:
    if not isinstance(title, str):
        raise InvalidInput("title must be text.")
    title = title.strip()
    if len(title) > LIMITS["MAX_TITLE_CHARS"]:
        raise InvalidInput(f"A title has at most {LIMITS['MAX_TITLE_CHARS']} characters.")
    return title


def clean_seq(value) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InvalidInput("seq must be a whole number, 0 or more.")
    return value


# --- Shared steps -------------------------------------------------------------


@contextmanager
def write_transaction(*, actor: User, attempted: str, conversation_id=None) -> Iterator[None]:
    """The transaction of one service call. An AccessDenied raised inside
    rolls it back, then is recorded in the audit log, outside the rollback."""
    with (
        audit.denials_recorded(actor=actor, attempted=attempted, conversation_id=conversation_id),
        transaction.atomic(),
    ):
        yield


def lock_conversation(conversation_id) -> Conversation:
    """Lock the conversation row for the rest of the transaction: writers to
    one conversation queue here, which keeps seq contiguous."""
    try:
        return Conversation.objects.select_for_update().get(pk=conversation_id)
    except Conversation.DoesNotExist:
        raise NotFound("No such conversation.") from None


def require_membership(conversation: Conversation, user: User) -> ConversationParticipant:
    # A deactivated account keeps its memberships (history stays intact) but
    # may no longer act in them; the policy covers active users only.
    if not user.is_active:
        raise AccessDenied("This account is deactivated.")
    membership = (
        ConversationParticipant.objects.active()
        .filter(conversation=conversation, user=user)
        .first()
    )
    if membership is None:
        raise AccessDenied("You are not a member of this conversation.")
    return membership


def require_writable(conversation: Conversation) -> None:
    if conversation.is_archived:
        raise ConversationArchived("This conversation is archived.")


def can_manage(conversation: Conversation, user: User) -> bool:
    if user.role == Role.ADMIN:
        return True
    return (
        ConversationParticipant.objects.active()
        .filter(conversation=conversation, user=user, role=ParticipantRole.ADMIN)
        .exists()
    )


def publish_new_message(message: Message) -> None:
    events.publish_on_commit(
        events.conversation_group(message.conversation_id), events.message_new(message)
    )


def append_message(
    conversation: Conversation,
    *,
    sender: User | None,
    content: str,
    message_type: str = MessageType.SYSTEM,
    metadata: dict | None = None,
) -> Message:
    """Take the next seq and store a message (system messages: someone was
    added or left). The caller holds the conversation lock. ``sent_at`` is
    also the conversation's ``last_message_at``: the inbox orders by one and
    shows the other."""
    now = timezone.now()
    conversation.last_seq += 1
    conversation.last_message_at = now
    Conversation.objects.filter(pk=conversation.pk).update(
        last_seq=conversation.last_seq, last_message_at=now, updated_at=now
    )
    message = Message.objects.create(
        conversation_id=conversation.pk,
        sender=sender,
        content=content,
        message_type=message_type,
        metadata=metadata or {},
        seq=conversation.last_seq,
        sent_at=now,
    )
    publish_new_message(message)
    return message


def advance_cursor(
    membership: ConversationParticipant, *, status: str, up_to_seq: int, announce: bool = True
) -> bool:
    """Move a member's read or delivered cursor forward (never back), record
    ``message_status`` for the messages it passes, and announce it unless
    ``announce`` is False (a sender's own message announces it already).

    Read implies delivered. Returns whether anything moved.
    """
    field = "last_read_seq" if status == ReceiptStatus.READ else "last_delivered_seq"
    previous = getattr(membership, field)
    if up_to_seq <= previous:
        return False
    updates = {field: up_to_seq}
    if status == ReceiptStatus.READ and membership.last_delivered_seq < up_to_seq:
        updates["last_delivered_seq"] = up_to_seq
    ConversationParticipant.objects.filter(pk=membership.pk).update(**updates)
    for name, value in updates.items():
        setattr(membership, name, value)

    passed = (
        Message.objects.filter(
            conversation_id=membership.conversation_id,
            seq__gt=previous,
            seq__lte=up_to_seq,
            deleted_at__isnull=True,
        )
        .exclude(sender_id=membership.user_id)
        .values_list("id", flat=True)
    )
    rows = [
        MessageStatus(message_id=message_id, user_id=membership.user_id, status=status)
        for message_id in passed
    ]
    if status == ReceiptStatus.READ:
        MessageStatus.objects.bulk_create(
            rows,
            update_conflicts=True,
            unique_fields=["message", "user"],
            update_fields=["status", "timestamp"],
        )
    else:
        # A delivered receipt never downgrades a read one.
        MessageStatus.objects.bulk_create(rows, ignore_conflicts=True)
    if not announce:
        return True
    events.publish_on_commit(
        events.conversation_group(membership.conversation_id),
        events.receipt(
            conversation_id=membership.conversation_id,
            user_id=membership.user_id,
            status=status,
            up_to_seq=up_to_seq,
        ),
    )
    return True


def read_own_message(conversation: Conversation, *, actor: User | None, seq: int) -> None:
    """Whoever writes a message has read it: move the actor's read cursor, if
    they are an active member, so their own system messages are not unread."""
    if actor is None:
        return
    membership = (
        ConversationParticipant.objects.active()
        .filter(conversation=conversation, user=actor)
        .first()
    )
    if membership is not None:
        advance_cursor(membership, status=ReceiptStatus.READ, up_to_seq=seq)


def announce_membership(conversation: Conversation, *, added=(), removed=()) -> None:
    if added:
        # Built once: the payload loads every member, and support
        # conversations are announced to all admins.
        frame = events.conversation_added(conversation)
    for user in added:
        events.publish_on_commit(
            events.user_group(user.pk), frame, conversation_id=str(conversation.pk)
        )
    for user in removed:
        events.publish_on_commit(
            events.user_group(user.pk),
            events.conversation_removed(conversation.pk),
            conversation_id=str(conversation.pk),
        )
    events.publish_on_commit(
        events.conversation_group(conversation.pk), events.conversation_updated(conversation)
    )
