"""Reads for the assistant: its bot, the history it is shown, the unread
messages a summary covers. None of them checks who asks: the services
decide that (``messaging.policy``) first."""

from uuid import UUID

from django.db.models import Q, QuerySet

from accounts.models import Role
from messaging.integrations.models import Bot, BotKind
from messaging.models import ConversationParticipant, Message, MessageType
from messaging.selectors import main_stream

# What the assistant reads: what people wrote, never system notices, and
# nothing deleted or hidden by a moderator.
_SHOWN_TYPES = (MessageType.TEXT, MessageType.FILE, MessageType.IMAGE)


def _readable_messages() -> QuerySet[Message]:
    return Message.objects.filter(
        deleted_at__isnull=True, hidden_at__isnull=True, message_type__in=_SHOWN_TYPES
    ).select_related("sender")


def assistant_bot(bot_id: UUID | str) -> Bot | None:
    """The assistant bot whose user id is ``bot_id`` (active, role bot,
    kind assistant), or None."""
    return (
        Bot.objects.select_related("user", "owner")
        .filter(
            user_id=bot_id,
            kind=BotKind.ASSISTANT,
            user__role=Role.BOT,
            user__is_active=True,
        )
        .first()
    )


def assistant_in(conversation_id: UUID) -> Bot | None:
    """An assistant bot that is an active member of the conversation (the
    one that joined first), or None."""
    member_ids = (
        ConversationParticipant.objects.active()
        .filter(conversation_id=conversation_id)
        .values("user_id")
    )
    return (
        Bot.objects.select_related("user")
        .filter(
            user_id__in=member_ids,
            kind=BotKind.ASSISTANT,
            user__role=Role.BOT,
            user__is_active=True,
        )
        .order_by("created_at")
        .first()
    )


def history_before(message: Message, *, limit: int) -> list[Message]:
    """The last ``limit`` messages up to ``message`` (included), oldest
    first, as the conversation shows them: the main stream for a
    main-stream message; for a thread reply, its thread (root and replies).
    Deleted, hidden and system messages are left out."""
    messages = _readable_messages().filter(
        conversation_id=message.conversation_id, seq__lte=message.seq
    )
    if message.in_main_stream:
        messages = messages.filter(main_stream())
    else:
        messages = messages.filter(Q(pk=message.parent_id) | Q(parent_id=message.parent_id))
    latest = list(messages.order_by("-seq")[:limit])
    latest.reverse()
    return latest


def unread_for(
    membership: ConversationParticipant, *, after_seq: int | None = None, limit: int
) -> tuple[list[Message], int]:
    """The member's unread main-stream messages that a summary covers: those
    above ``after_seq`` (by default their read cursor; the page passes the
    cursor it opened with, since opening it marks everything read), not
    their own; the latest ``limit`` of them, oldest first, and how many
    there are in all."""
    since = membership.last_read_seq if after_seq is None else after_seq
    messages = (
        _readable_messages()
        .filter(conversation_id=membership.conversation_id, seq__gt=since)
        .filter(main_stream())
        .exclude(sender_id=membership.user_id)
    )
    total = messages.count()
    latest = list(messages.order_by("-seq")[:limit])
    latest.reverse()
    return latest, total
