"""Moderation reads: the mute that stops a person posting, the warnings a
person was given, and the people a person blocked."""

from uuid import UUID

from django.db.models import QuerySet

from accounts.models import User
from messaging import policy
from messaging.models import Mute, UserBlock, Warning


def active_mute(user: User, conversation_id: UUID | str | None) -> Mute | None:
    """The mute in force for ``user`` in that conversation (one for it, or
    one for everywhere) that lasts longest, or None. With
    ``conversation_id`` None, only a mute for everywhere counts."""
    mutes = policy.mutes_in_force(user.pk, conversation_id)
    return mutes.order_by("-ends_at").first()


def warnings_for(user: User, conversation_id: UUID | str) -> QuerySet[Warning]:
    """The warnings ``user`` was given in that conversation, oldest first.
    Only the warned person sees them: the caller asks for their own."""
    return Warning.objects.filter(user=user, conversation_id=conversation_id).order_by(
        "created_at", "id"
    )


def blocks_made(user: User) -> QuerySet[UserBlock]:
    """The people ``user`` blocked, newest block first, with the person."""
    return (
        UserBlock.objects.filter(blocker=user.pk)
        .select_related("blocked")
        .order_by("-created_at", "-id")
    )


def has_blocked(user: User, other_id: UUID) -> bool:
    """Whether ``user`` blocked the person ``other_id``."""
    return UserBlock.objects.filter(blocker=user.pk, blocked_id=other_id).exists()
