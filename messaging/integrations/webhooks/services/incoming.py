"""Incoming webhooks: a secret URL (``POST /hooks/<token>``) that posts
Slack-compatible JSON (``{"text": "..."}``, Markdown) into one group
conversation as a bot of its own.

Each webhook gets its own bot (named as the webhook), owned by its creator
and added to the conversation as a member, so its messages show who posted
them and go through the ordinary send (``messaging.services.send_message``:
seq, content filter, mentions, notifications, audit). Only the token's
SHA-256 is stored; the URL is shown once. Revoking a webhook deactivates
its bot: the URL answers 404 from then on.
"""

import secrets
import uuid
from dataclasses import dataclass
from uuid import UUID

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts import services as account_services
from accounts.models import Role, User
from messaging import audit, policy, services
from messaging.e2e import messages as e2e_messages
from messaging.errors import AccessDenied, InvalidInput, NotFound
from messaging.integrations.bots import services as bot_services
from messaging.integrations.models import BotKind, IncomingWebhook
from messaging.integrations.webhooks.selectors import token_hash
from messaging.models import AuditAction, Conversation, ConversationType, Message
from messaging.validation import check_text, clean_content

MAX_NAME_CHARS = 100
MAX_IDEMPOTENCY_KEY_CHARS = 200
# Derives a post's client_id from its webhook and Idempotency-Key.
_CLIENT_IDS = uuid.UUID("7d0c7a51-4f55-4e0b-9a35-5f0b1c2e8d11")


@dataclass(frozen=True)
class IssuedWebhook:
    """A new webhook and its token, shown to its creator once."""

    webhook: IncomingWebhook
    token: str


def create_incoming_webhook(*, actor: User, conversation_id: UUID, name: str) -> IssuedWebhook:
    """A webhook posting into a group conversation as a new bot called
    ``name``, which joins the conversation. ``actor`` must
    ``policy.may_create_incoming_webhook`` there (a mentor or admin who
    posts and manages there: the webhook adds a member)."""
    policy.check_acting(actor)
    conversation = Conversation.objects.filter(pk=conversation_id).first()
    if conversation is None:
        raise NotFound(_("No such conversation."))
    policy.check_visible(actor, conversation)
    if conversation.type != ConversationType.GROUP:
        raise InvalidInput(_("Incoming webhooks post into group conversations only."))
    if not policy.may_create_incoming_webhook(actor, conversation):
        raise AccessDenied(_("Only mentors and admins who manage this conversation add webhooks."))
    # It would post as the server, in the clear (docs/e2e.md).
    e2e_messages.refuse_if_encrypted(conversation.pk)
    if not isinstance(name, str) or not name.strip():
        raise InvalidInput(_("A webhook needs a name."))
    name = check_text(name.strip(), what="name", one_line=True)
    if len(name) > MAX_NAME_CHARS:
        raise InvalidInput(
            _("A webhook's name has at most %(count)s characters.") % {"count": MAX_NAME_CHARS}
        )
    token = secrets.token_urlsafe(32)
    with transaction.atomic():
        issued = bot_services.create_bot(
            owner=actor, display_name=name, kind=BotKind.WEBHOOK, issue_token=False
        )
        services.add_participants(
            actor=actor, conversation_id=conversation.pk, users=[issued.bot.user]
        )
        webhook = IncomingWebhook.objects.create(
            conversation=conversation,
            bot=issued.bot,
            name=name,
            token_hash=token_hash(token),
            created_by=actor,
        )
        audit.record(
            actor=actor,
            action=AuditAction.WEBHOOK_CREATE,
            conversation_id=conversation.pk,
            target_user_id=issued.bot.user_id,
            webhook_id=str(webhook.pk),
            name=name,
        )
    return IssuedWebhook(webhook=webhook, token=token)


def may_manage_webhook(actor: User, webhook: IncomingWebhook) -> bool:
    """Its creator, its bot's managers (``policy.may_manage_bot``) and
    platform admins."""
    return policy.is_acting(actor) and (
        actor.role == Role.ADMIN
        or webhook.created_by_id == actor.pk
        or policy.may_manage_bot(actor, webhook.bot)
    )


def revoke_incoming_webhook(*, actor: User, webhook_id: UUID) -> IncomingWebhook:
    """Revoke a webhook: its URL answers 404 from now on and its bot is
    deactivated (its messages stay). Revoking again changes nothing.
    ``NotFound`` for a webhook ``actor`` may not manage."""
    webhook = IncomingWebhook.objects.select_related("bot__user").filter(pk=webhook_id).first()
    if webhook is None or not may_manage_webhook(actor, webhook):
        raise NotFound(_("No such webhook."))
    if webhook.revoked_at is not None:
        return webhook
    with transaction.atomic():
        webhook.revoked_at = timezone.now()
        webhook.save(update_fields=["revoked_at"])
        account_services.set_active(user=webhook.bot.user, active=False)
        audit.record(
            actor=actor,
            action=AuditAction.WEBHOOK_REVOKE,
            conversation_id=webhook.conversation_id,
            target_user_id=webhook.bot.user_id,
            webhook_id=str(webhook.pk),
        )
    return webhook


def clean_idempotency_key(value: str | None) -> str | None:
    """The ``Idempotency-Key`` header: None when absent; printable ASCII of
    at most ``MAX_IDEMPOTENCY_KEY_CHARS``, else ``InvalidInput``."""
    if value is None or value == "":
        return None
    if len(value) > MAX_IDEMPOTENCY_KEY_CHARS or not value.isascii() or not value.isprintable():
        raise InvalidInput(
            _("Idempotency-Key is printable ASCII of at most %(count)s characters.")
            % {"count": MAX_IDEMPOTENCY_KEY_CHARS}
        )
    return value


def post_incoming(
    *, webhook: IncomingWebhook, payload: object, idempotency_key: str | None = None
) -> Message:
    """Post ``payload`` (parsed JSON: an object with a non-empty ``"text"``;
    Slack's other fields are ignored) into the webhook's conversation as its
    bot. With an ``idempotency_key``, posting the same again returns the
    message stored the first time (its ``client_id`` is derived from the
    webhook and the key). Raises what a send raises (``InvalidInput``,
    ``ContentBlocked``, ``AccessDenied``...)."""
    if not isinstance(payload, dict):
        raise InvalidInput(_("The body is a JSON object with a text field."))
    text = payload.get("text")
    if not isinstance(text, str) or not text.strip():
        raise InvalidInput(_("text is required: the message, in Markdown."))
    content = clean_content(text)
    key = clean_idempotency_key(idempotency_key)
    client_id = uuid.uuid5(_CLIENT_IDS, f"{webhook.pk}:{key}") if key else uuid.uuid4()
    result = services.send_message(
        sender=webhook.bot.user,
        conversation_id=webhook.conversation_id,
        content=content,
        client_id=client_id,
    )
    IncomingWebhook.objects.filter(pk=webhook.pk).update(last_used_at=timezone.now())
    return result.message
