"""Reads of scheduled messages: a person's own, and the due ones."""

from datetime import datetime
from uuid import UUID

from django.db.models import QuerySet
from django.utils.translation import gettext as _

from accounts.models import User
from messaging import selectors as messaging_selectors
from messaging.errors import NotFound
from messaging.integrations.models import ScheduledMessage, ScheduledState
from messaging.models import Conversation

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
    """What ``user`` calls each conversation, naming members who left too:
    a scheduled message may outlive a membership."""
    return messaging_selectors.conversation_names(user, conversations, with_members_who_left=True)


def conversation_name(user: User, conversation_id: UUID) -> str:
    conversation = Conversation.objects.filter(pk=conversation_id).first()
    if conversation is None:
        return ""
    return conversation_names(user, [conversation])[conversation.pk]
