"""Reads of pins.

A pinned message that is later deleted or hidden keeps its pin row but
drops out of the pinned list (and out of the pin limit's count); restoring
a hidden message brings it back, still pinned. System messages are never
pinned."""

from uuid import UUID

from django.db.models import Q

from accounts.models import User
from messaging import policy, selectors
from messaging.models import Message, MessageType
from messaging.threads.models import Pin
from messaging.threads.payloads import with_extras

# The pins that count: their message is neither deleted nor hidden.
VISIBLE = Q(message__deleted_at__isnull=True, message__hidden_at__isnull=True) & ~Q(
    message__message_type=MessageType.SYSTEM
)


def visible_pin_count(conversation_id: UUID) -> int:
    """How many pins of the conversation show (``VISIBLE``): what the
    ``MAX_PINS_PER_CONVERSATION`` limit counts."""
    return Pin.objects.filter(VISIBLE, conversation_id=conversation_id).count()


def pinned_messages(*, user: User, conversation_id: UUID) -> list[Message]:
    """The conversation's pinned messages, newest pin first, for a member
    (``selectors.membership_for``); deleted and hidden ones left out."""
    membership = selectors.membership_for(user, conversation_id, attempted="pins.list")
    messages = with_extras(
        Message.objects.filter(
            pin__conversation_id=membership.conversation_id,
            deleted_at__isnull=True,
            hidden_at__isnull=True,
        )
        .exclude(message_type=MessageType.SYSTEM)
        .select_related("sender")
        .prefetch_related("attachments")
    )
    return list(messages.order_by("-pin__pinned_at", "-seq"))


def may_pin_here(*, user: User, conversation_id: UUID) -> bool:
    """Whether ``user``, a member, may pin and unpin in the conversation now
    (``policy.may_pin``): the page offers the action only then."""
    membership = selectors.membership_for(user, conversation_id, attempted="pins.list")
    return policy.may_pin(user, membership.conversation, membership=membership)
