"""Reads for digests: who may be due, and what they have not read."""

import datetime as dt
from dataclasses import dataclass
from uuid import UUID

from django.db.models import Count, F, Q, QuerySet
from django.urls import reverse

from accounts.models import User
from messaging.models import Conversation, ConversationParticipant, Message, MessageType
from messaging.support.models import SupportRequest
from notifications.models import ConversationMute, DigestFrequency
from notifications.tokens import absolute_url


@dataclass(frozen=True)
class UnreadConversation:
    conversation: Conversation
    unread: int
    latest: Message


def digest_candidates() -> QuerySet[User]:
    """Active people with an address whose digest is daily or weekly and
    whose email is on; those who never chose have the defaults (daily)."""
    return (
        User.objects.filter(is_active=True)
        .exclude(email="")
        .filter(
            Q(notification_preference__isnull=True)
            | Q(
                notification_preference__digest__in=[
                    DigestFrequency.DAILY,
                    DigestFrequency.WEEKLY,
                ],
                notification_preference__email_enabled=True,
            )
        )
        .select_related("notification_preference")
        .order_by("pk")
    )


def unread_conversations(user: User, *, at: dt.datetime) -> list[UnreadConversation]:
    """The person's unarchived, unmuted conversations holding main-stream
    messages of others they have not read: how many, and the latest of them
    (thread-only replies count in their thread, not here)."""
    muted = ConversationMute.objects.filter(user=user).filter(
        Q(until__isnull=True) | Q(until__gt=at)
    )
    memberships = (
        ConversationParticipant.objects.active()
        .filter(
            user=user,
            conversation__archived_at__isnull=True,
            conversation__last_seq__gt=F("last_read_seq"),
        )
        .exclude(conversation_id__in=muted.values("conversation_id"))
        .select_related("conversation")
        .order_by(F("conversation__last_message_at").desc(nulls_last=True))
    )
    found = []
    for membership in memberships:
        unread = (
            Message.objects.filter(
                conversation_id=membership.conversation_id,
                seq__gt=membership.last_read_seq,
                deleted_at__isnull=True,
                hidden_at__isnull=True,
            )
            # Thread-only replies have their thread's unread, not the
            # conversation's (they reach followers as thread_reply).
            .filter(Q(parent__isnull=True) | Q(also_to_conversation=True))
            .exclude(sender_id=user.pk)
            .exclude(message_type=MessageType.SYSTEM)
            .select_related("sender")
            .order_by("-seq")
        )
        latest = unread.first()
        if latest is None:
            continue
        found.append(
            UnreadConversation(
                conversation=membership.conversation,
                unread=unread.aggregate(n=Count("pk"))["n"],
                latest=latest,
            )
        )
    return found


def support_updates(user_id: UUID, *, since: dt.datetime) -> list[dict]:
    """The person's own support requests that changed since ``since``
    (status, assignee, priority, rating, first response), most recently
    changed first: ``{"title", "status", "url"}`` each."""
    changed = SupportRequest.objects.filter(requester_id=user_id, updated_at__gte=since).order_by(
        "-updated_at"
    )
    return [
        {
            "title": request.subject,
            "status": request.get_status_display(),
            "url": absolute_url(reverse("conversation", args=[request.conversation_id])),
        }
        for request in changed
    ]
