"""Sending, editing and deleting messages."""

import uuid

from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from accounts.models import Role, User
from messaging import audit, events
from messaging.errors import (
    AccessDenied,
    ClientIdConflict,
    InvalidInput,
    NotFound,
)
from messaging.models import (
    AuditAction,
    Conversation,
    ConversationParticipant,
    Message,
    MessageType,
)
from messaging.services.common import (
    SendResult,
    clean_content,
    lock_conversation,
    parse_uuid,
    require_membership,
    require_writable,
    store_message,
)


def _claim_seq_for_sender(conversation_id: uuid.UUID, sender: User, now) -> int:
    """Lock the conversation and take its next seq in one statement, provided
    ``sender`` is an active member and the conversation is not archived.

    This is the hot path of every send: one round trip instead of a locking
    SELECT, a membership SELECT and an UPDATE. When the statement matches no
    row, the reason is looked up and raised (NotFound, AccessDenied or
    ConversationArchived, in that order).
    """
    conversations = Conversation._meta.db_table
    participants = ConversationParticipant._meta.db_table
    prep_id = Conversation._meta.pk.get_db_prep_value
    prep_time = Conversation._meta.get_field("updated_at").get_db_prep_value
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {conversations} SET last_seq = last_seq + 1,"  # noqa: S608 - table names
            " last_message_at = %s, updated_at = %s"
            f" WHERE id = %s AND archived_at IS NULL AND EXISTS (SELECT 1 FROM {participants} p"
            f" WHERE p.conversation_id = {conversations}.id AND p.user_id = %s"
            " AND p.left_at IS NULL) RETURNING last_seq",
            [
                prep_time(now, connection),
                prep_time(now, connection),
                prep_id(conversation_id, connection),
                prep_id(sender.pk, connection),
            ],
        )
        row = cursor.fetchone()
    if row is not None:
        return row[0]
    conversation = Conversation.objects.filter(pk=conversation_id).first()
    if conversation is None:
        raise NotFound("No such conversation.")
    require_membership(conversation, sender)
    require_writable(conversation)
    raise AssertionError("unreachable: the conversation was writable")  # pragma: no cover


def send_message(
    *,
    sender: User,
    conversation_id,
    content,
    client_id,
    message_type: str = MessageType.TEXT,
    file_url: str = "",
    metadata: dict | None = None,
) -> SendResult:
    """Store a message once and announce it after commit.

    ``client_id`` is the sender's idempotency key: sending again with the same
    key returns the stored message (``created`` is False) and adds nothing;
    the same key with other content is a ``ClientIdConflict``.
    """
    conversation_id = parse_uuid(conversation_id, what="conversation_id")
    client_id = parse_uuid(client_id, what="client_id")
    content = clean_content(content)
    if message_type not in (MessageType.TEXT, MessageType.FILE, MessageType.IMAGE):
        raise InvalidInput(f"Unknown message_type {message_type!r}.")

    if not sender.is_active:
        with audit.denials_recorded(
            actor=sender, attempted=AuditAction.MESSAGE_SEND, conversation_id=conversation_id
        ):
            raise AccessDenied("This account is deactivated.")
    try:
        with audit.denials_recorded(
            actor=sender, attempted=AuditAction.MESSAGE_SEND, conversation_id=conversation_id
        ), transaction.atomic():
            now = timezone.now()
            seq = _claim_seq_for_sender(conversation_id, sender, now)
            # A resend (same client_id) fails here on UNIQUE(sender, client_id);
            # the whole transaction, seq included, rolls back below.
            message = store_message(
                conversation_id=conversation_id,
                seq=seq,
                sent_at=now,
                sender=sender,
                content=content,
                message_type=message_type,
                client_id=client_id,
                file_url=file_url,
                metadata=metadata,
            )
            # Writing is reading: the sender has seen everything up to here.
            # Cursors define "read by"; no message_status rows are needed.
            ConversationParticipant.objects.filter(
                conversation_id=conversation_id, user=sender
            ).update(last_read_seq=seq, last_delivered_seq=seq)
            audit.record(
                actor=sender,
                action=AuditAction.MESSAGE_SEND,
                conversation_id=conversation_id,
                message_id=message.pk,
                seq=seq,
            )
    except IntegrityError:
        # Only a resend collides: return what the first send stored.
        stored = (
            Message.objects.select_related("sender")
            .filter(sender=sender, client_id=client_id)
            .first()
        )
        if stored is None:
            raise
        if stored.conversation_id != conversation_id or stored.content != content:
            raise ClientIdConflict(
                "This client_id was already used for a different message."
            ) from None
        return SendResult(stored, created=False)
    return SendResult(message, created=True)


def _own_message_for_update(actor: User, message_id, *, moderator_allowed: bool) -> Message:
    """The message, read under its conversation's lock, once ``actor`` may
    change it: its sender (a member, in a writable conversation) or, where
    ``moderator_allowed``, a platform admin."""
    message_id = parse_uuid(message_id, what="message_id")
    conversation_id = (
        Message.objects.filter(pk=message_id).values_list("conversation_id", flat=True).first()
    )
    if conversation_id is None:
        raise NotFound("No such message.")
    conversation = lock_conversation(conversation_id)
    # Read the message only now: a delete or edit that committed while we
    # waited for the lock must be seen, or an edit could bring back the
    # content of a deleted message.
    message = Message.objects.select_related("sender").get(pk=message_id)
    message.conversation = conversation
    is_moderator = moderator_allowed and actor.is_active and actor.role == Role.ADMIN
    if not is_moderator:
        require_membership(conversation, actor)
        if message.sender_id != actor.pk:
            raise AccessDenied("You can change only your own messages.")
        # Archived means read-only for members; moderation still applies.
        require_writable(conversation)
    if message.message_type == MessageType.SYSTEM:
        raise InvalidInput("System messages cannot be changed.")
    if message.is_deleted:
        raise NotFound("This message was deleted.")
    return message


def edit_message(*, editor: User, message_id, content) -> Message:
    content = clean_content(content)
    with audit.denials_recorded(
        actor=editor, attempted=AuditAction.MESSAGE_EDIT
    ), transaction.atomic():
        message = _own_message_for_update(editor, message_id, moderator_allowed=False)
        if message.content == content:
            return message
        previous_length = len(message.content)
        message.content = content
        message.edited_at = timezone.now()
        message.save(update_fields=["content", "edited_at"])
        audit.record(
            actor=editor,
            action=AuditAction.MESSAGE_EDIT,
            conversation_id=message.conversation_id,
            message_id=message.pk,
            previous_length=previous_length,
        )
        events.publish_on_commit(
            events.conversation_group(message.conversation_id), events.message_edited(message)
        )
    return message


def delete_message(*, actor: User, message_id) -> Message:
    """Soft-delete: the message keeps its seq, its content is gone. Senders
    delete their own messages; platform admins delete any (moderation)."""
    with audit.denials_recorded(
        actor=actor, attempted=AuditAction.MESSAGE_DELETE
    ), transaction.atomic():
        message = _own_message_for_update(actor, message_id, moderator_allowed=True)
        message.deleted_at = timezone.now()
        message.content = ""
        message.file_url = ""
        message.save(update_fields=["deleted_at", "content", "file_url"])
        audit.record(
            actor=actor,
            action=AuditAction.MESSAGE_DELETE,
            conversation_id=message.conversation_id,
            message_id=message.pk,
            moderation=message.sender_id != actor.pk,
        )
        events.publish_on_commit(
            events.conversation_group(message.conversation_id), events.message_deleted(message)
        )
    return message
