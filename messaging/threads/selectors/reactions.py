"""Reads of reactions."""

from uuid import UUID

from accounts.models import User
from messaging import selectors
from messaging.threads.models import Reaction


def message_reactions(*, user: User, message_id: UUID) -> list[Reaction]:
    """The reactions on a message of a conversation ``user`` may read
    (``selectors.message_for``: ``not_found``, recorded for a non-member), in
    the order they came, each with its person; none once the message is
    deleted or hidden (its payload shows none either)."""
    message = selectors.message_for(user, message_id)
    if message.deleted_at is not None or message.hidden_at is not None:
        return []
    return list(
        Reaction.objects.filter(message=message).select_related("user").order_by("created_at", "id")
    )
