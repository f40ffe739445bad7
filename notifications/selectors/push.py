"""Reads for Web Push: a person's devices, and what a push delivery needs."""

from collections.abc import Iterable
from uuid import UUID

from django.db.models import QuerySet
from django.utils.translation import gettext as _

from accounts.models import User
from messaging.errors import NotFound
from notifications.models import Notification, NotificationPreference, PushSubscription


def subscriptions_of(user: User) -> QuerySet[PushSubscription]:
    """The person's push devices, newest first."""
    return PushSubscription.objects.filter(user=user).order_by("-created_at", "id")


def subscription_of(user: User, subscription_id: UUID) -> PushSubscription:
    """One of the person's devices; someone else's is ``NotFound``, as a
    device that does not exist is (nobody learns which ids exist)."""
    found = PushSubscription.objects.filter(user=user, pk=subscription_id).first()
    if found is None:
        raise NotFound(_("No such push subscription."))
    return found


def users_with_subscriptions(user_ids: Iterable[UUID]) -> set[UUID]:
    """Which of these people have at least one push device."""
    return set(
        PushSubscription.objects.filter(user_id__in=set(user_ids))
        .values_list("user_id", flat=True)
        .distinct()
    )


def preferences_by_user(user_ids: Iterable[UUID]) -> dict[UUID, NotificationPreference]:
    """Stored preferences by user id; people who never chose are absent
    (callers use the defaults, ``NotificationPreference(user_id=…)``)."""
    return {p.user_id: p for p in NotificationPreference.objects.filter(user_id__in=set(user_ids))}


def notifications_to_push(notification_ids: Iterable[str | UUID]) -> list[Notification]:
    """The notifications, with their person, conversation, message and actor
    loaded, in the order of their creation (ones deleted since are absent)."""
    return list(
        Notification.objects.filter(pk__in=list(notification_ids))
        .select_related("user", "conversation", "message", "actor")
        .order_by("created_at", "id")
    )


def subscriptions_by_user(user_ids: Iterable[UUID]) -> dict[UUID, list[PushSubscription]]:
    """Every device of these people, grouped by person."""
    grouped: dict[UUID, list[PushSubscription]] = {}
    for subscription in PushSubscription.objects.filter(user_id__in=set(user_ids)).order_by(
        "created_at", "id"
    ):
        grouped.setdefault(subscription.user_id, []).append(subscription)
    return grouped


def time_zones_of(user_ids: Iterable[UUID]) -> dict[UUID, str]:
    """Each person's IANA time zone name (quiet hours are local)."""
    return dict(User.objects.filter(pk__in=set(user_ids)).values_list("pk", "time_zone"))
