"""Reads of the in-app notification centre."""

from collections.abc import Iterable
from dataclasses import dataclass
from uuid import UUID

from django.db.models import Count, Q, QuerySet
from django.utils.translation import gettext as _

from accounts.models import User
from messaging.errors import NotFound
from notifications.models import Kind, Notification

DEFAULT_PAGE_SIZE = 30
MAX_PAGE_SIZE = 100


@dataclass(frozen=True)
class FeedPage:
    notifications: list[Notification]
    has_more: bool


def _feed(user: User) -> QuerySet[Notification]:
    return Notification.objects.filter(user=user, in_app=True)


def feed_page(
    *,
    user: User,
    unread_only: bool = False,
    before: UUID | None = None,
    limit: int = DEFAULT_PAGE_SIZE,
) -> FeedPage:
    """The user's in-app notifications, newest first, ``limit`` at a time.
    ``before`` (a notification id from the previous page) pages back by
    keyset on (created_at, id); an id that is not the user's is NotFound."""
    rows = _feed(user).select_related("actor")
    if unread_only:
        rows = rows.filter(read_at__isnull=True)
    if before is not None:
        anchor = _feed(user).filter(pk=before).values_list("created_at", flat=True).first()
        if anchor is None:
            raise NotFound(_("No such notification."))
        rows = rows.filter(Q(created_at__lt=anchor) | Q(created_at=anchor, id__lt=before))
    limit = max(1, min(limit, MAX_PAGE_SIZE))
    page = list(rows.order_by("-created_at", "-id")[: limit + 1])
    return FeedPage(notifications=page[:limit], has_more=len(page) > limit)


def unread_count(user: User) -> int:
    """How many in-app notifications the user has not read."""
    return Notification.objects.filter(user=user, in_app=True, read_at__isnull=True).count()


def unread_counts(user_ids: Iterable[UUID | str]) -> dict[UUID, int]:
    """``unread_count`` of many people in one query (0 is left out)."""
    rows = (
        Notification.objects.filter(user_id__in=list(user_ids), in_app=True, read_at__isnull=True)
        .values("user_id")
        .annotate(n=Count("id"))
        .values_list("user_id", "n")
    )
    return dict(rows)


def unread_ids_in_conversation(*, user: User, conversation_id: UUID, up_to_seq: int) -> list[UUID]:
    """The user's unread notifications of the conversation about messages
    up to ``up_to_seq`` (and those about no message: being added). Thread
    replies are read in their thread (``unread_ids_in_thread``), not here:
    a reply's own notification, and a mention in a reply that only the
    thread shows (the conversation's stream never showed it)."""
    in_the_stream = Q(message__parent__isnull=True) | Q(message__also_to_conversation=True)
    return list(
        Notification.objects.filter(
            user=user, conversation_id=conversation_id, read_at__isnull=True
        )
        .exclude(kind=Kind.THREAD_REPLY)
        .filter(Q(message__isnull=True) | (Q(message__seq__lte=up_to_seq) & in_the_stream))
        .values_list("id", flat=True)
    )


def unread_ids_in_thread(*, user: User, root_id: UUID, up_to_seq: int) -> list[UUID]:
    """The user's unread notifications about the thread's replies up to
    ``up_to_seq`` (``thread_reply`` and mentions alike)."""
    return list(
        Notification.objects.filter(
            user=user,
            read_at__isnull=True,
            message__parent_id=root_id,
            message__seq__lte=up_to_seq,
        ).values_list("id", flat=True)
    )
