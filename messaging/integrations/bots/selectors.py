"""Reads about bots: the ones a person manages, one by id, and the
deliveries of one."""

from uuid import UUID

from django.db.models import Count, QuerySet
from django.utils.translation import gettext as _

from accounts.models import User
from messaging import policy
from messaging.errors import NotFound
from messaging.integrations.models import Bot, OutgoingDelivery


def managed_bots(user: User) -> QuerySet[Bot]:
    """The bots ``user`` manages (``policy.managed_bots``), newest first,
    with their account, owner and number of outgoing deliveries."""
    return (
        policy.managed_bots(user)
        .select_related("user", "owner")
        .annotate(delivery_count=Count("deliveries"))
        .order_by("-created_at")
    )


def managed_bot(user: User, bot_id: UUID) -> Bot:
    """One bot ``user`` manages; ``NotFound`` for any other id (a bot one
    does not manage is answered as one that does not exist)."""
    bot = managed_bots(user).filter(pk=bot_id).first()
    if bot is None:
        raise NotFound(_("No such bot."))
    return bot


def recent_deliveries(bot: Bot, *, limit: int = 20) -> QuerySet[OutgoingDelivery]:
    return OutgoingDelivery.objects.filter(bot=bot).order_by("-created_at")[:limit]
