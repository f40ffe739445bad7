"""Moderation reads."""

from django.db.models import QuerySet

from accounts.models import User
from messaging.models import UserBlock


def blocks_made(user: User) -> QuerySet[UserBlock]:
    """The people ``user`` blocked, newest block first, with the person."""
    return (
        UserBlock.objects.filter(blocker=user.pk)
        .select_related("blocked")
        .order_by("-created_at", "-id")
    )


def has_blocked(user: User, other_id) -> bool:
    """Whether ``user`` blocked the person ``other_id``."""
    return UserBlock.objects.filter(blocker=user.pk, blocked_id=other_id).exists()
