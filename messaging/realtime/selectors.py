"""Reads presence needs: who is told of a user's status, and the stored
``last_seen`` that accompanies a live status."""

from collections.abc import Iterable
from uuid import UUID

from messaging.models import ConversationParticipant, UserPresence


def contact_ids(user_id: UUID | str) -> list[str]:
    """People who share an active conversation with ``user_id``, and the user."""
    conversations = ConversationParticipant.objects.active().filter(user_id=user_id)
    return [
        str(pk)
        for pk in ConversationParticipant.objects.active()
        .filter(conversation_id__in=conversations.values("conversation_id"))
        .values_list("user_id", flat=True)
        .distinct()
    ]


def last_seen(user_ids: Iterable[UUID | str]) -> dict[str, str]:
    """``{user_id: last_seen (ISO 8601)}`` for each id with a stored presence."""
    return {
        str(user_id): seen.isoformat()
        for user_id, seen in UserPresence.objects.filter(user_id__in=list(user_ids)).values_list(
            "user_id", "last_seen"
        )
    }
