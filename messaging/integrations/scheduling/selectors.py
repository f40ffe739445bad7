"""Reads of scheduled messages: a person's own, and the due ones."""

from datetime import datetime
from uuid import UUID

from django.db.models import QuerySet
from django.utils.translation import gettext as _

from accounts.models import User
from messaging import selectors as messaging_selectors
from messaging.errors import NotFound
from messaging.integrations.models import ScheduledMessage, ScheduledState
from messaging.models import Conversation, ConversationParticipant, ConversationType

# How many of one's sent, failed and cancelled ones the list keeps showing.
MAX_FINISHED_LISTED = 50


def scheduled_of(author: User) -> list[ScheduledMessage]:
    """``author``'s scheduled messages for the Scheduled view: those
    waiting, soonest first, then the latest ``MAX_FINISHED_LISTED`` sent,
    failed or cancelled ones, most recently changed first. Each carries its
    conversation."""
    own = ScheduledMessage.objects.filter(author_id=author.pk).select_related("conversation")
    waiting = list(own.filter(state=ScheduledState.SCHEDULED).order_by("send_at", "created_at"))
    finished = list(
        own.exclude(state=ScheduledState.SCHEDULED).order_by("-updated_at")[:MAX_FINISHED_LISTED]
    )
    return waiting + finished


def scheduled_for(author: User, scheduled_id: UUID) -> ScheduledMessage:
    """One of ``author``'s scheduled messages; NotFound for anyone else's,
    as for a missing one."""
    scheduled = (
        ScheduledMessage.objects.select_related("conversation")
        .filter(pk=scheduled_id, author_id=author.pk)
        .first()
    )
    if scheduled is None:
        raise NotFound(_("No such scheduled message."))
    return scheduled


def pending_count(author: User) -> int:
    return ScheduledMessage.objects.filter(
        author_id=author.pk, state=ScheduledState.SCHEDULED
    ).count()


def due_ids(*, now: datetime, limit: int) -> list[UUID]:
    """The ids of the scheduled messages due at ``now``, oldest first."""
    due: QuerySet[ScheduledMessage] = ScheduledMessage.objects.filter(
        state=ScheduledState.SCHEDULED, send_at__lte=now
    ).order_by("send_at")
    return list(due.values_list("pk", flat=True)[:limit])


def conversation_names(user: User, conversations: list[Conversation]) -> dict[UUID, str]:
    """What ``user`` calls each conversation: its title, else "Support" for
    an untitled support conversation, else the other members' names (those
    who left included: a scheduled message may outlive a membership); for
    one ``user`` is no longer in, "a conversation you left" (its name, or who
    is in it now, is not theirs to read)."""
    names: dict[UUID, str] = {}
    untitled = []
    current = messaging_selectors.member_of(user, [c.pk for c in conversations])
    for conversation in conversations:
        if conversation.pk not in current:
            names[conversation.pk] = messaging_selectors.left_conversation_name()
        elif conversation.title:
            names[conversation.pk] = conversation.title
        elif conversation.type == ConversationType.SUPPORT:
            names[conversation.pk] = _("Support")
        else:
            untitled.append(conversation.pk)
    others: dict[UUID, list[str]] = {}
    rows = (
        ConversationParticipant.objects.filter(conversation_id__in=untitled)
        .exclude(user_id=user.pk)
        .select_related("user")
        .order_by("joined_at")
    )
    for row in rows:
        others.setdefault(row.conversation_id, []).append(row.user.display_name)
    for conversation_id in untitled:
        people = others.get(conversation_id, [])
        if not people:
            names[conversation_id] = _("Just you")
        else:
            extra = f" +{len(people) - 3}" if len(people) > 3 else ""
            names[conversation_id] = ", ".join(people[:3]) + extra
    return names


def conversation_name(user: User, conversation_id: UUID) -> str:
    conversation = Conversation.objects.filter(pk=conversation_id).first()
    if conversation is None:
        return ""
    return conversation_names(user, [conversation])[conversation.pk]
