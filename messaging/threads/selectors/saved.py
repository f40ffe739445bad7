"""Reads of a person's saved messages."""

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from django.db.models import Exists, OuterRef, Prefetch

from accounts.models import User
from messaging import selectors
from messaging.models import ConversationParticipant, Message
from messaging.threads.models import SavedMessage
from messaging.threads.payloads import with_extras


@dataclass(frozen=True)
class SavedPage:
    saved: list[SavedMessage]  # each with its ``message`` loaded for its payload
    has_more: bool


def saved_page(
    *,
    user: User,
    limit: int,
    conversation_id: UUID | None = None,
    before: datetime | None = None,
) -> SavedPage:
    """The messages ``user`` saved, newest save first, ``limit`` at most,
    saved before ``before`` when given (the ``saved_at`` of the last one the
    client has: the next page). Only messages of conversations the person is
    still a member of, neither deleted nor hidden: one they can no longer
    read is left out (and comes back if they rejoin or a moderator restores
    it). With ``conversation_id``, that conversation's only, for a member
    (``selectors.membership_for``)."""
    if conversation_id is not None:
        selectors.membership_for(user, conversation_id, attempted="saved.list")
    still_member = Exists(
        ConversationParticipant.objects.active().filter(
            user=user, conversation_id=OuterRef("message__conversation_id")
        )
    )
    rows = SavedMessage.objects.filter(
        still_member,
        user=user,
        message__deleted_at__isnull=True,
        message__hidden_at__isnull=True,
    )
    if conversation_id is not None:
        rows = rows.filter(message__conversation_id=conversation_id)
    if before is not None:
        rows = rows.filter(saved_at__lt=before)
    rows = rows.order_by("-saved_at", "-id").prefetch_related(
        Prefetch(
            "message",
            queryset=with_extras(
                Message.objects.select_related("sender").prefetch_related("attachments")
            ),
        )
    )
    page = list(rows[: limit + 1])
    return SavedPage(page[:limit], has_more=len(page) > limit)
