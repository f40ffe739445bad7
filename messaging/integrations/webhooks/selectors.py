"""Reads about webhooks: the one a secret URL names, a conversation's, one
by id."""

import hashlib
from uuid import UUID

from django.db.models import QuerySet
from django.utils.translation import gettext as _

from accounts.models import User
from messaging import policy
from messaging.errors import AccessDenied, NotFound
from messaging.integrations.models import IncomingWebhook, OutgoingDelivery
from messaging.models import Conversation


def token_hash(token: str) -> str:
    """What is stored of an incoming webhook's token: its SHA-256, in hex."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def webhook_for_token(token: str) -> IncomingWebhook | None:
    """The live incoming webhook whose URL carries ``token`` (not revoked,
    its bot active), or None."""
    if not token or len(token) > 200:
        return None
    return (
        IncomingWebhook.objects.select_related("bot__user")
        .filter(token_hash=token_hash(token), revoked_at__isnull=True, bot__user__is_active=True)
        .first()
    )


def conversation_webhooks(user: User, conversation_id: UUID) -> QuerySet[IncomingWebhook]:
    """The incoming webhooks of a conversation, newest first, revoked ones
    included: for those who manage it (``policy.may_manage``).
    ``NotVisible`` for a conversation one does not see."""
    conversation = Conversation.objects.filter(pk=conversation_id).first()
    if conversation is None:
        raise NotFound(_("No such conversation."))
    policy.check_visible(user, conversation)
    if not policy.may_manage(user, conversation):
        raise AccessDenied(_("Only the conversation's admins see its webhooks."))
    return (
        IncomingWebhook.objects.filter(conversation=conversation)
        .select_related("bot__user", "created_by")
        .order_by("-created_at")
    )


def delivery(delivery_id: UUID) -> OutgoingDelivery | None:
    return (
        OutgoingDelivery.objects.select_related(
            "bot__user", "message__sender", "message__conversation"
        )
        .filter(pk=delivery_id)
        .first()
    )
