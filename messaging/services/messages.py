"""Sending, editing and deleting messages."""

import functools
import uuid

from django.db import IntegrityError, connection
from django.utils import timezone
from psycopg.types.json import Jsonb

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
    AuditLog,
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
    publish_new_message,
    require_membership,
    require_writable,
    write_transaction,
)


def _refuse_send(conversation_id: uuid.UUID, sender: User) -> None:
    """The send matched no writable conversation of an active sender's:
    raise why (AccessDenied for a deactivated account, then NotFound,
    AccessDenied or ConversationArchived, in that order). The account is
    read again: the caller's ``sender`` may predate a deactivation."""
    if not User.objects.filter(pk=sender.pk, is_active=True).exists():
        raise AccessDenied("This account is deactivated.")
    conversation = Conversation.objects.filter(pk=conversation_id).first()
    if conversation is None:
        raise NotFound("No such conversation.")
    require_membership(conversation, sender)
    require_writable(conversation)
    raise AssertionError("unreachable: the conversation was writable")  # pragma: no cover


def _claim_seq_for_sender(conversation_id: uuid.UUID, sender: User, now) -> int:
    """Lock the conversation and take its next seq in one statement, provided
    ``sender`` is an active account, an active member and the conversation
    is not archived: one round trip instead of a locking SELECT, a
    membership SELECT and an UPDATE."""
    conversations = Conversation._meta.db_table
    participants = ConversationParticipant._meta.db_table
    users, user_id = User._meta.db_table, User._meta.pk.column
    prep_id = Conversation._meta.pk.get_db_prep_value
    prep_time = Conversation._meta.get_field("updated_at").get_db_prep_value
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {conversations} SET last_seq = last_seq + 1,"  # noqa: S608 - table names
            " last_message_at = %s, updated_at = %s"
            f" WHERE id = %s AND archived_at IS NULL AND EXISTS (SELECT 1 FROM {participants} p"
            f" WHERE p.conversation_id = {conversations}.id AND p.user_id = %s"
            " AND p.left_at IS NULL)"
            f" AND EXISTS (SELECT 1 FROM {users} u WHERE u.{user_id} = %s AND u.is_active)"
            " RETURNING last_seq",
            [
                prep_time(now, connection),
                prep_time(now, connection),
                prep_id(conversation_id, connection),
                prep_id(sender.pk, connection),
                prep_id(sender.pk, connection),
            ],
        )
        row = cursor.fetchone()
    if row is None:
        _refuse_send(conversation_id, sender)
    return row[0]


def _store_sent_message_portably(message: Message) -> None:
    """Four statements: claim the seq, insert, move the sender's cursor,
    audit. Used where the database has no data-modifying CTEs (SQLite)."""
    message.seq = _claim_seq_for_sender(message.conversation_id, message.sender, message.sent_at)
    message.save(force_insert=True)
    ConversationParticipant.objects.filter(
        conversation_id=message.conversation_id, user=message.sender
    ).update(last_read_seq=message.seq, last_delivered_seq=message.seq)
    audit.record(
        actor=message.sender,
        action=AuditAction.MESSAGE_SEND,
        conversation_id=message.conversation_id,
        message_id=message.pk,
        seq=message.seq,
    )


def _column(model, name: str) -> str:
    return model._meta.get_field(name).column


@functools.cache
def _one_statement_sql() -> str:
    """The whole send as one PostgreSQL statement (data-modifying CTEs):
    lock the conversation and take the seq (only for an active account that
    is an active member of a writable conversation: the account is read
    here, not trusted from the caller's object), insert the message, move the sender's cursors,
    write the audit row. It is atomic on its own; a resend fails it on
    UNIQUE(sender, client_id) and nothing of it remains."""
    conversations = Conversation._meta.db_table
    participants = ConversationParticipant._meta.db_table
    messages = Message._meta.db_table
    audit_log = AuditLog._meta.db_table
    users, user_id = User._meta.db_table, User._meta.pk.column
    active = User._meta.get_field("is_active").column
    m = {
        name: _column(Message, name)
        for name in (
            "id",
            "conversation",
            "sender",
            "content",
            "message_type",
            "file_url",
            "sent_at",
            "metadata",
            "seq",
            "client_id",
        )
    }
    a = {
        name: _column(AuditLog, name)
        for name in ("at", "actor", "action", "conversation_id", "message_id", "details")
    }
    p = {
        name: _column(ConversationParticipant, name)
        for name in ("conversation", "user", "left_at", "last_read_seq", "last_delivered_seq")
    }
    # Only table and column names are formatted in; values are parameters.
    return (
        f"WITH claimed AS (UPDATE {conversations} SET last_seq = last_seq + 1,"  # noqa: S608
        " last_message_at = %(now)s, updated_at = %(now)s"
        " WHERE id = %(conversation)s AND archived_at IS NULL"
        f" AND EXISTS (SELECT 1 FROM {participants} p WHERE p.{p['conversation']} ="
        f" %(conversation)s AND p.{p['user']} = %(sender)s AND p.{p['left_at']} IS NULL)"
        f" AND EXISTS (SELECT 1 FROM {users} u WHERE u.{user_id} = %(sender)s AND u.{active})"
        " RETURNING last_seq),"
        f" stored AS (INSERT INTO {messages} ({m['id']}, {m['conversation']}, {m['sender']},"
        f" {m['content']}, {m['message_type']}, {m['file_url']}, {m['sent_at']},"
        f" {m['metadata']}, {m['seq']}, {m['client_id']})"
        " SELECT %(id)s, %(conversation)s, %(sender)s, %(content)s, %(message_type)s,"
        " %(file_url)s, %(now)s, %(metadata)s, last_seq, %(client_id)s FROM claimed"
        f" RETURNING {m['seq']} AS seq),"
        f" reader AS (UPDATE {participants} SET {p['last_read_seq']} = stored.seq,"
        f" {p['last_delivered_seq']} = stored.seq FROM stored"
        f" WHERE {p['conversation']} = %(conversation)s AND {p['user']} = %(sender)s),"
        f" audited AS (INSERT INTO {audit_log} ({a['at']}, {a['actor']}, {a['action']},"
        f" {a['conversation_id']}, {a['message_id']}, {a['details']})"
        " SELECT %(now)s, %(sender)s, %(action)s, %(conversation)s, %(id)s,"
        " jsonb_build_object('seq', seq) FROM stored)"
        " SELECT seq FROM stored"
    )


def _store_sent_message_in_one_statement(message: Message) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            _one_statement_sql(),
            {
                "now": message.sent_at,
                "conversation": message.conversation_id,
                "sender": message.sender.pk,
                "id": message.pk,
                "content": message.content,
                "message_type": message.message_type,
                "file_url": message.file_url,
                "metadata": Jsonb(message.metadata),
                "client_id": message.client_id,
                "action": AuditAction.MESSAGE_SEND.value,
            },
        )
        row = cursor.fetchone()
    if row is None:
        _refuse_send(message.conversation_id, message.sender)
    message.seq = row[0]
    message._state.adding = False
    message._state.db = connection.alias


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
    message = Message(
        conversation_id=conversation_id,
        sender=sender,
        content=content,
        message_type=message_type,
        client_id=client_id,
        file_url=file_url,
        metadata=metadata or {},
        sent_at=timezone.now(),
    )
    store = (
        _store_sent_message_in_one_statement
        if connection.vendor == "postgresql"
        else _store_sent_message_portably
    )
    try:
        with write_transaction(
            actor=sender, attempted=AuditAction.MESSAGE_SEND, conversation_id=conversation_id
        ):
            # A resend (same client_id) fails here on UNIQUE(sender, client_id);
            # the whole transaction, seq included, rolls back below. Writing
            # is reading: the sender's cursors move to the new seq (cursors
            # define "read by"; no message_status rows are needed).
            store(message)
            publish_new_message(message)
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
    with write_transaction(actor=editor, attempted=AuditAction.MESSAGE_EDIT):
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
    with write_transaction(actor=actor, attempted=AuditAction.MESSAGE_DELETE):
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
