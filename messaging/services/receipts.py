"""Delivered and read receipts."""

from accounts.models import User
from messaging import audit
from messaging.errors import (
    AccessDenied,
    NotFound,
)
from messaging.models import (
    AuditAction,
    Conversation,
    ConversationParticipant,
    ReceiptStatus,
)
from messaging.services.common import (
    advance_cursor,
    clean_seq,
    parse_uuid,
    write_transaction,
)


def mark_read(*, user: User, conversation_id, up_to_seq) -> ConversationParticipant:
    """Move ``user``'s read cursor up to ``up_to_seq`` (capped at the latest
    message). Going backwards is ignored, so repeats are harmless."""
    return _mark(
        user=user, conversation_id=conversation_id, up_to_seq=up_to_seq, status=ReceiptStatus.READ
    )


def mark_delivered(*, user: User, conversation_id, up_to_seq) -> ConversationParticipant:
    return _mark(
        user=user,
        conversation_id=conversation_id,
        up_to_seq=up_to_seq,
        status=ReceiptStatus.DELIVERED,
    )


def _mark(*, user: User, conversation_id, up_to_seq, status: str) -> ConversationParticipant:
    conversation_id = parse_uuid(conversation_id, what="conversation_id")
    up_to_seq = clean_seq(up_to_seq)
    with write_transaction(
        actor=user, attempted=AuditAction.READ_MARK, conversation_id=conversation_id
    ):
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
    return membership
