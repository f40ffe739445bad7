"""Delivered and read receipts: the members' cursors."""

from uuid import UUID

from django.utils.translation import gettext as _

from accounts.models import User
from messaging import audit, events, policy
from messaging.errors import NotFound
from messaging.models import (
    AuditAction,
    Conversation,
    ConversationParticipant,
    Message,
    MessageStatus,
    ReceiptStatus,
)
from messaging.services.transactions import write_transaction
from notifications.services import feed as notification_feed


def mark_read(*, user: User, conversation_id: UUID, up_to_seq: int) -> ConversationParticipant:
    """Move ``user``'s read cursor up to ``up_to_seq`` (capped at the latest
    message). Going backwards is ignored, so repeats are harmless."""
    return _mark(
        user=user, conversation_id=conversation_id, up_to_seq=up_to_seq, status=ReceiptStatus.READ
    )


def mark_delivered(*, user: User, conversation_id: UUID, up_to_seq: int) -> ConversationParticipant:
    """Move ``user``'s delivered cursor up to ``up_to_seq``, as ``mark_read``."""
    return _mark(
        user=user,
        conversation_id=conversation_id,
        up_to_seq=up_to_seq,
        status=ReceiptStatus.DELIVERED,
    )


def _mark(
    *, user: User, conversation_id: UUID, up_to_seq: int, status: str
) -> ConversationParticipant:
    with write_transaction(
        actor=user, attempted=AuditAction.READ_MARK, conversation_id=conversation_id
    ):
        try:
            conversation = Conversation.objects.get(pk=conversation_id)
        except Conversation.DoesNotExist:
            raise NotFound(_("No such conversation.")) from None
        # The member row, not the conversation, is locked: receipts do not
        # queue behind senders.
        membership = (
            ConversationParticipant.objects.select_for_update()
            .filter(conversation=conversation, user=user, left_at__isnull=True)
            .first()
        )
        policy.check_read(user, conversation, membership=membership)
        assert membership is not None  # check_read refuses a non-member
        moved = advance_cursor(
            membership, status=status, up_to_seq=min(up_to_seq, conversation.last_seq)
        )
        if moved and status == ReceiptStatus.READ:
            audit.record(
                actor=user,
                action=AuditAction.READ_MARK,
                conversation_id=conversation.pk,
                up_to_seq=membership.last_read_seq,
            )
            # Reading the conversation clears its bell entries.
            notification_feed.mark_conversation_read(
                user=user, conversation_id=conversation.pk, up_to_seq=membership.last_read_seq
            )
    return membership


def advance_cursor(membership: ConversationParticipant, *, status: str, up_to_seq: int) -> bool:
    """Move a member's read or delivered cursor forward (never back), record
    ``message_status`` for the others' messages it passes, and announce it.

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
