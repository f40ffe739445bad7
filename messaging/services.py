"""Every messaging write. Views, API views, consumers, admin actions and tasks
call these; nothing else writes messaging rows or emits events.

Each service checks the access policy, does its writes and its audit row in
one transaction, and publishes its events after commit.
"""

import uuid
from collections.abc import Iterable
from dataclasses import dataclass

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from accounts.models import Role, User
from messaging import audit, events, policy
from messaging.errors import (
    AccessDenied,
    ClientIdConflict,
    ConversationArchived,
    InvalidInput,
    NotFound,
)
from messaging.models import (
    AuditAction,
    Conversation,
    ConversationParticipant,
    ConversationType,
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


def _lock_conversation(conversation_id) -> Conversation:
    """Lock the conversation row for the rest of the transaction: writers to
    one conversation queue here, which keeps seq contiguous."""
    try:
        return Conversation.objects.select_for_update().get(pk=conversation_id)
    except Conversation.DoesNotExist:
        raise NotFound("No such conversation.") from None


def _membership(conversation: Conversation, user: User) -> ConversationParticipant:
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


def _require_writable(conversation: Conversation) -> None:
    if conversation.is_archived:
        raise ConversationArchived("This conversation is archived.")


def _can_manage(conversation: Conversation, user: User) -> bool:
    if user.role == Role.ADMIN:
        return True
    return ConversationParticipant.objects.active().filter(
        conversation=conversation, user=user, role=ParticipantRole.ADMIN
    ).exists()


def _store_message(
    *,
    conversation_id: uuid.UUID,
    seq: int,
    sent_at,
    sender: User | None,
    content: str,
    message_type: str = MessageType.TEXT,
    client_id: uuid.UUID | None = None,
    file_url: str = "",
    metadata: dict | None = None,
) -> Message:
    """Insert a message under an already taken ``seq`` and announce it after
    commit. ``sent_at`` is also the conversation's ``last_message_at``: the
    inbox orders by one and shows the other."""
    message = Message.objects.create(
        conversation_id=conversation_id,
        sender=sender,
        content=content,
        message_type=message_type,
        client_id=client_id,
        file_url=file_url,
        metadata=metadata or {},
        seq=seq,
        sent_at=sent_at,
    )
    events.publish_on_commit(
        events.conversation_group(conversation_id), events.message_new(message)
    )
    return message


def _append_message(conversation: Conversation, **fields) -> Message:
    """Take the next seq and store a message. The caller holds the lock."""
    now = timezone.now()
    conversation.last_seq += 1
    conversation.last_message_at = now
    Conversation.objects.filter(pk=conversation.pk).update(
        last_seq=conversation.last_seq, last_message_at=now, updated_at=now
    )
    return _store_message(
        conversation_id=conversation.pk, seq=conversation.last_seq, sent_at=now, **fields
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
    _membership(conversation, sender)
    _require_writable(conversation)
    raise AssertionError("unreachable: the conversation was writable")  # pragma: no cover


def _advance_cursor(
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

    passed = Message.objects.filter(
        conversation_id=membership.conversation_id,
        seq__gt=previous,
        seq__lte=up_to_seq,
        deleted_at__isnull=True,
    ).exclude(sender_id=membership.user_id).values_list("id", flat=True)
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


def _read_own_message(conversation: Conversation, *, actor: User | None, seq: int) -> None:
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
        _advance_cursor(membership, status=ReceiptStatus.READ, up_to_seq=seq)


def _announce_membership(conversation: Conversation, *, added=(), removed=()) -> None:
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


# --- Conversations --------------------------------------------------------------


def _direct_key(a: User, b: User) -> str:
    return ":".join(sorted([a.pk.hex, b.pk.hex]))


def create_conversation(
    *,
    creator: User,
    kind: str,
    participants: Iterable[User] = (),
    title: str = "",
    metadata: dict | None = None,
) -> Conversation:
    """Start a conversation of ``kind`` between ``creator`` and ``participants``.

    A direct conversation between two people exists once: asking again
    returns it. A support conversation adds every active admin.
    """
    others = list({u.pk: u for u in participants if u.pk != creator.pk}.values())
    title = clean_title(title)
    if len(others) + 1 > LIMITS["MAX_GROUP_MEMBERS"]:
        raise InvalidInput(f"A conversation has at most {LIMITS['MAX_GROUP_MEMBERS']} members.")
    with audit.denials_recorded(actor=creator, attempted=AuditAction.CONVERSATION_CREATE):
        policy.check_new_conversation(creator=creator, kind=kind, others=others)

    if kind == ConversationType.DIRECT:
        existing = Conversation.objects.filter(direct_key=_direct_key(creator, others[0])).first()
        if existing:
            return existing

    members: dict = {creator.pk: (creator, ParticipantRole.ADMIN)}
    if kind == ConversationType.DIRECT:
        members[others[0].pk] = (others[0], ParticipantRole.ADMIN)
    elif kind == ConversationType.GROUP:
        for user in others:
            members[user.pk] = (user, ParticipantRole.MEMBER)
    else:
        requester = creator if creator.role != Role.ADMIN else others[0]
        members = {requester.pk: (requester, ParticipantRole.MEMBER)}
        for admin in User.objects.filter(role=Role.ADMIN, is_active=True):
            members[admin.pk] = (admin, ParticipantRole.ADMIN)

    try:
        with transaction.atomic():
            conversation = Conversation.objects.create(
                type=kind,
                title=title,
                created_by=creator,
                metadata=metadata or {},
                direct_key=_direct_key(creator, others[0])
                if kind == ConversationType.DIRECT
                else None,
            )
            ConversationParticipant.objects.bulk_create(
                ConversationParticipant(conversation=conversation, user=user, role=role)
                for user, role in members.values()
            )
            audit.record(
                actor=creator,
                action=AuditAction.CONVERSATION_CREATE,
                conversation_id=conversation.pk,
                type=kind,
                participants=[str(pk) for pk in members],
            )
            _announce_membership(conversation, added=[u for u, _ in members.values()])
    except IntegrityError:
        # Two people opened the same direct conversation at once.
        if kind == ConversationType.DIRECT:
            return Conversation.objects.get(direct_key=_direct_key(creator, others[0]))
        raise
    return conversation


def rename_conversation(*, actor: User, conversation_id, title: str) -> Conversation:
    title = clean_title(title)
    conversation_id = parse_uuid(conversation_id, what="conversation_id")
    with audit.denials_recorded(
        actor=actor, attempted=AuditAction.CONVERSATION_UPDATE, conversation_id=conversation_id
    ), transaction.atomic():
        conversation = _lock_conversation(conversation_id)
        if conversation.type == ConversationType.DIRECT:
            raise InvalidInput("A direct conversation has no title.")
        if not _can_manage(conversation, actor):
            raise AccessDenied("Only the conversation's admins rename it.")
        conversation.title = title
        conversation.save(update_fields=["title", "updated_at"])
        audit.record(
            actor=actor,
            action=AuditAction.CONVERSATION_UPDATE,
            conversation_id=conversation.pk,
            title=title,
        )
        _announce_membership(conversation)
    return conversation


def set_archived(*, actor: User, conversation_id, archived: bool) -> Conversation:
    """Archive (read-only, out of the inbox) or unarchive a conversation.

    Allowed to the conversation's admins (both people of a direct
    conversation) and to platform admins.
    """
    conversation_id = parse_uuid(conversation_id, what="conversation_id")
    action = AuditAction.CONVERSATION_ARCHIVE if archived else AuditAction.CONVERSATION_UNARCHIVE
    with audit.denials_recorded(
        actor=actor, attempted=action, conversation_id=conversation_id
    ), transaction.atomic():
        conversation = _lock_conversation(conversation_id)
        if not _can_manage(conversation, actor):
            raise AccessDenied("Only the conversation's admins archive it.")
        if conversation.is_archived == archived:
            return conversation
        conversation.archived_at = timezone.now() if archived else None
        conversation.save(update_fields=["archived_at", "updated_at"])
        audit.record(actor=actor, action=action, conversation_id=conversation.pk)
        _announce_membership(conversation)
    return conversation


def add_participants(*, actor: User, conversation_id, users: Iterable[User]) -> Conversation:
    """Bring people into a group (or, for admins, more admins into a support
    conversation). People who had left are brought back."""
    conversation_id = parse_uuid(conversation_id, what="conversation_id")
    users = list({u.pk: u for u in users}.values())
    if not users:
        raise InvalidInput("Name at least one person to add.")
    with audit.denials_recorded(
        actor=actor, attempted=AuditAction.PARTICIPANT_ADD, conversation_id=conversation_id
    ), transaction.atomic():
        conversation = _lock_conversation(conversation_id)
        _require_writable(conversation)
        if conversation.type == ConversationType.DIRECT:
            raise InvalidInput("A direct conversation has exactly two people.")
        if not _can_manage(conversation, actor):
            raise AccessDenied("Only the conversation's admins add people.")
        for user in users:
            allowed = (
                user.role == Role.ADMIN and user.is_active
                if conversation.type == ConversationType.SUPPORT
                else policy.can_add_to_group(actor, user)
            )
            if not allowed:
                raise AccessDenied(f"You may not add {user.display_name}.")
        current = {
            p.user_id: p
            for p in ConversationParticipant.objects.filter(
                conversation=conversation, user__in=users
            )
        }
        added = [u for u in users if u.pk not in current or current[u.pk].left_at is not None]
        active_count = conversation.participants.active().count()
        if active_count + len(added) > LIMITS["MAX_GROUP_MEMBERS"]:
            raise InvalidInput(f"A conversation has at most {LIMITS['MAX_GROUP_MEMBERS']} members.")
        now = timezone.now()
        # Newcomers can read the history, but what was said before they came
        # is not news to them: unread starts at the "added" message.
        cursors = {
            "last_read_seq": conversation.last_seq,
            "last_delivered_seq": conversation.last_seq,
        }
        for user in added:
            if user.pk in current:
                ConversationParticipant.objects.filter(pk=current[user.pk].pk).update(
                    left_at=None, joined_at=now, role=ParticipantRole.MEMBER, **cursors
                )
            else:
                ConversationParticipant.objects.create(
                    conversation=conversation, user=user, **cursors
                )
        if added:
            names = ", ".join(u.display_name for u in added)
            notice = _append_message(
                conversation,
                sender=actor,
                content=f"{actor.display_name} added {names}",
                message_type=MessageType.SYSTEM,
                metadata={"event": "participant.add", "user_ids": [str(u.pk) for u in added]},
            )
            _read_own_message(conversation, actor=actor, seq=notice.seq)
            audit.record(
                actor=actor,
                action=AuditAction.PARTICIPANT_ADD,
                conversation_id=conversation.pk,
                user_ids=[str(u.pk) for u in added],
            )
            _announce_membership(conversation, added=added)
    return conversation


def remove_participant(*, actor: User, conversation_id, user: User) -> Conversation:
    """Take ``user`` out of a group or support conversation; ``actor`` is the
    user themselves (leaving) or one of its admins. Their sockets stop
    receiving it at once."""
    conversation_id = parse_uuid(conversation_id, what="conversation_id")
    with audit.denials_recorded(
        actor=actor, attempted=AuditAction.PARTICIPANT_REMOVE, conversation_id=conversation_id
    ), transaction.atomic():
        conversation = _lock_conversation(conversation_id)
        if conversation.type == ConversationType.DIRECT:
            raise InvalidInput("Nobody leaves a direct conversation; archive it instead.")
        if actor.pk != user.pk and not _can_manage(conversation, actor):
            raise AccessDenied("Only the conversation's admins remove people.")
        membership = ConversationParticipant.objects.active().filter(
            conversation=conversation, user=user
        ).first()
        if membership is None:
            raise NotFound(f"{user.display_name} is not in this conversation.")
        membership.left_at = timezone.now()
        membership.save(update_fields=["left_at"])
        verb = "left" if actor.pk == user.pk else f"removed {user.display_name}"
        if not conversation.is_archived:
            notice = _append_message(
                conversation,
                sender=actor,
                content=f"{actor.display_name} {verb}",
                message_type=MessageType.SYSTEM,
                metadata={"event": "participant.remove", "user_ids": [str(user.pk)]},
            )
            _read_own_message(conversation, actor=actor, seq=notice.seq)
        audit.record(
            actor=actor,
            action=AuditAction.PARTICIPANT_REMOVE,
            conversation_id=conversation.pk,
            user_ids=[str(user.pk)],
        )
        _announce_membership(conversation, removed=[user])
    return conversation


# --- Messages -------------------------------------------------------------------


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
            message = _store_message(
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
    conversation = _lock_conversation(conversation_id)
    # Read the message only now: a delete or edit that committed while we
    # waited for the lock must be seen, or an edit could bring back the
    # content of a deleted message.
    message = Message.objects.select_related("sender").get(pk=message_id)
    message.conversation = conversation
    is_moderator = moderator_allowed and actor.is_active and actor.role == Role.ADMIN
    if not is_moderator:
        _membership(conversation, actor)
        if message.sender_id != actor.pk:
            raise AccessDenied("You can change only your own messages.")
        # Archived means read-only for members; moderation still applies.
        _require_writable(conversation)
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


# --- Receipts -------------------------------------------------------------------


def mark_read(*, user: User, conversation_id, up_to_seq) -> ConversationParticipant:
    """Move ``user``'s read cursor up to ``up_to_seq`` (capped at the latest
    message). Going backwards is ignored, so repeats are harmless."""
    return _mark(user=user, conversation_id=conversation_id, up_to_seq=up_to_seq,
                 status=ReceiptStatus.READ)


def mark_delivered(*, user: User, conversation_id, up_to_seq) -> ConversationParticipant:
    return _mark(user=user, conversation_id=conversation_id, up_to_seq=up_to_seq,
                 status=ReceiptStatus.DELIVERED)


def _mark(*, user: User, conversation_id, up_to_seq, status: str) -> ConversationParticipant:
    conversation_id = parse_uuid(conversation_id, what="conversation_id")
    up_to_seq = clean_seq(up_to_seq)
    with audit.denials_recorded(
        actor=user, attempted=AuditAction.READ_MARK, conversation_id=conversation_id
    ), transaction.atomic():
        try:
            conversation = Conversation.objects.get(pk=conversation_id)
        except Conversation.DoesNotExist:
            raise NotFound("No such conversation.") from None
        # The member row, not the conversation, is locked: receipts do not
        # queue behind senders.
        membership = (
            ConversationParticipant.objects.select_for_update()
            .filter(conversation=conversation, user=user, left_at__isnull=True)
            .first()
        )
        if membership is None or not user.is_active:
            raise AccessDenied("You are not a member of this conversation.")
        moved = _advance_cursor(
            membership, status=status, up_to_seq=min(up_to_seq, conversation.last_seq)
        )
        if moved and status == ReceiptStatus.READ:
            audit.record(
                actor=user,
                action=AuditAction.READ_MARK,
                conversation_id=conversation.pk,
                up_to_seq=membership.last_read_seq,
            )
    return membership
