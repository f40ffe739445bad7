"""Reads of conversation mutes."""

import datetime as dt
from uuid import UUID

from django.db.models import F, Q, QuerySet
from django.utils import timezone

from accounts.models import User
from notifications.models import ConversationMute


def _active(at: dt.datetime) -> Q:
    # The same rule as ``notifications.rules.is_muted``, as a query.
    return Q(until__isnull=True) | Q(until__gt=at)


def mute_for(user: User, conversation_id: UUID) -> ConversationMute | None:
    """The person's mute of the conversation, expired or not, or None.
    (``rules.is_muted`` says whether it silences the conversation now.)"""
    return ConversationMute.objects.filter(user=user, conversation_id=conversation_id).first()


def active_mute(
    user: User, conversation_id: UUID, *, at: dt.datetime | None = None
) -> ConversationMute | None:
    """The person's mute of the conversation if it silences it at ``at``
    (default: now), else None."""
    return (
        ConversationMute.objects.filter(user=user, conversation_id=conversation_id)
        .filter(_active(at or timezone.now()))
        .first()
    )


def active_mutes(user: User, *, at: dt.datetime | None = None) -> QuerySet[ConversationMute]:
    """The conversations the person has silenced at ``at`` (default: now),
    with their conversation, soonest to end first (for ever last)."""
    return (
        ConversationMute.objects.filter(user=user)
        .filter(_active(at or timezone.now()))
        .select_related("conversation")
        .order_by(F("until").asc(nulls_last=True), "created_at")
    )
