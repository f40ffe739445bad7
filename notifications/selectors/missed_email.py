"""Reads for the missed-message email: what a person has not read in one
conversation, and what was already emailed."""

import datetime as dt
from uuid import UUID

from django.db.models import Q, QuerySet

from messaging.models import ConversationParticipant, Message, MessageType
from notifications.models import Channel, ConversationMute, Delivery, DeliveryState

MISSED_KEY_PREFIX = "missed"


def missed_key(conversation_id: UUID | str, first_seq: int) -> str:
    return f"{MISSED_KEY_PREFIX}:{UUID(str(conversation_id))}:{first_seq}"


def membership(conversation_id: UUID | str, user_id: UUID | str) -> ConversationParticipant | None:
    """The person's active membership of the conversation (with the
    conversation and the person), or None when they are not in it."""
    return (
        ConversationParticipant.objects.active()
        .select_related("conversation", "user")
        .filter(conversation_id=conversation_id, user_id=user_id)
        .first()
    )


def mute_of(conversation_id: UUID | str, user_id: UUID | str) -> ConversationMute | None:
    return ConversationMute.objects.filter(conversation_id=conversation_id, user_id=user_id).first()


def _missed_deliveries(conversation_id: UUID | str, user_id: UUID | str) -> QuerySet[Delivery]:
    return Delivery.objects.filter(
        user_id=user_id,
        channel=Channel.EMAIL,
        key__startswith=f"{MISSED_KEY_PREFIX}:{UUID(str(conversation_id))}:",
    )


def last_missed_email_at(
    conversation_id: UUID | str, user_id: UUID | str, *, before: dt.datetime | None = None
) -> dt.datetime | None:
    """When the latest missed-message email of this conversation to this
    person was recorded (sent or being sent), or None; only those recorded
    before ``before`` when given."""
    deliveries = _missed_deliveries(conversation_id, user_id)
    if before is not None:
        deliveries = deliveries.filter(created_at__lt=before)
    return deliveries.order_by("-created_at").values_list("created_at", flat=True).first()


def pending_claim_of_run(
    conversation_id: UUID | str, user_id: UUID | str, run_id: str
) -> Delivery | None:
    """The missed-message email the task run ``run_id`` claimed and never
    finished (its worker died inside the send), or None."""
    if not run_id:
        return None
    return (
        _missed_deliveries(conversation_id, user_id)
        .filter(state=DeliveryState.PENDING, claimed_by=run_id)
        .order_by("-created_at")
        .first()
    )


def unread_window(
    membership: ConversationParticipant,
    *,
    sent_after: dt.datetime | None,
    sent_until: dt.datetime,
) -> list[Message]:
    """The messages of others the member has not read (seq past their read
    cursor) in the main stream (no thread-only replies), not deleted or
    hidden, not system notices, sent in
    ``(sent_after, sent_until]``; oldest first, senders loaded."""
    messages = (
        Message.objects.select_related("sender")
        .filter(
            conversation_id=membership.conversation_id,
            seq__gt=membership.last_read_seq,
            deleted_at__isnull=True,
            hidden_at__isnull=True,
            sent_at__lte=sent_until,
        )
        # Thread-only replies are the thread's unread, not the
        # conversation's: followers hear of them as thread_reply.
        .filter(Q(parent__isnull=True) | Q(also_to_conversation=True))
        .exclude(sender_id=membership.user_id)
        .exclude(message_type=MessageType.SYSTEM)
        .order_by("seq")
    )
    if sent_after is not None:
        messages = messages.filter(sent_at__gt=sent_after)
    return list(messages)
