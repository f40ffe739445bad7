"""Outgoing webhooks: telling a bot's URL of a message that concerns it.

A message concerns a bot that is an active member of its conversation when
it mentions the bot (``metadata["mentions"]``, ``messaging.mentions``) or
is sent in a direct conversation with it; never when a bot sent it.
``route_message`` writes one ``OutgoingDelivery`` per (bot, message) of a
webhook bot with a URL (UNIQUE: routing twice queues nothing twice) and
names the assistant bots to ask instead.

``attempt_delivery`` makes one call: a JSON POST (``payload``) signed as
Slack signs its requests (``X-Parley-Timestamp``, ``X-Parley-Signature``:
``v1=`` + hex HMAC-SHA256 of ``{timestamp}.{body}`` under the bot's signing
secret), through ``messaging.threads.net`` (public addresses only unless
``PARLEY_OUTGOING_WEBHOOK_ALLOW``; never a metadata address; one timeout).
Every attempt is counted and its status or error recorded on the row. A
2xx answer delivers it; a 5xx, 429, timeout or connection error is tried
again after a wait that doubles (``PARLEY_OUTGOING_WEBHOOK_RETRY_SECONDS``)
until ``PARLEY_OUTGOING_WEBHOOK_MAX_ATTEMPTS``; any other answer, or a
refused URL, fails it at once. A delivered row is never called again.

A 2xx answer whose body is ``{"text": "..."}`` is posted as the bot in the
message's conversation (in its thread, for a thread reply), once: its
``client_id`` is derived from the delivery's id.
"""

import json
import time
import uuid
from dataclasses import dataclass, field
from uuid import UUID

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from accounts.models import Role
from messaging import services
from messaging.errors import MessagingError
from messaging.integrations.models import Bot, BotKind, DeliveryState, OutgoingDelivery
from messaging.integrations.webhooks import selectors, targets
from messaging.models import ConversationParticipant, ConversationType, Message, MessageType
from messaging.threads import net
from messaging.validation import clean_content

USER_AGENT = "ParleyWebhook/1.0 (+outgoing webhooks)"
_ANSWER_CLIENT_IDS = uuid.UUID("0b6d3c9e-2f7a-4c1e-8e55-3a9d7b1f4c20")
# Refusals that no later attempt can change.
_FINAL_REFUSALS = {"scheme", "port", "address"}


@dataclass(frozen=True)
class Routed:
    """What a message's routing asks for: deliveries to call, and the
    assistant bots (their ids) to ask."""

    deliveries: list[str] = field(default_factory=list)
    assistants: list[str] = field(default_factory=list)


def concerned_bots(message: Message) -> list[Bot]:
    """The active bots, members of the message's conversation, that it
    mentions or that it is sent to directly; none for a bot's message or a
    system message."""
    if message.sender is None or message.sender.role == Role.BOT:
        return []
    if message.message_type == MessageType.SYSTEM or message.deleted_at is not None:
        return []
    members = ConversationParticipant.objects.active().filter(
        conversation_id=message.conversation_id
    )
    bots = Bot.objects.filter(
        user__in=members.values("user_id"), user__is_active=True
    ).select_related("user")
    direct = message.conversation.type == ConversationType.DIRECT
    mentioned = set((message.metadata or {}).get("mentions") or ())
    return [bot for bot in bots if direct or str(bot.user_id) in mentioned]


def route_message(*, message_id: UUID) -> Routed:
    """The deliveries (pending, not yet tried) and assistant bots that the
    message calls for. Safe to run twice: a delivery row exists once per
    (bot, message)."""
    message = Message.objects.select_related("sender", "conversation").filter(pk=message_id).first()
    if message is None:
        return Routed()
    routed = Routed()
    for bot in concerned_bots(message):
        if bot.kind == BotKind.ASSISTANT:
            routed.assistants.append(str(bot.pk))
        elif bot.kind == BotKind.WEBHOOK and bot.outgoing_url:
            delivery, _created = OutgoingDelivery.objects.get_or_create(bot=bot, message=message)
            if delivery.state == DeliveryState.PENDING and delivery.attempts == 0:
                routed.deliveries.append(str(delivery.pk))
    return routed


def payload(bot: Bot, message: Message) -> dict:
    """The JSON a bot's URL is sent (docs/integrations/webhooks-and-bots.md)."""
    return {
        "type": "message",
        "bot_id": str(bot.pk),
        "message": {
            "id": str(message.pk),
            "conversation_id": str(message.conversation_id),
            "seq": message.seq,
            "sender": {
                "id": str(message.sender_id),
                "display_name": message.sender.display_name if message.sender else "",
            },
            "content": message.content,
            "sent_at": message.sent_at.isoformat(),
        },
    }


def max_attempts() -> int:
    return max(1, int(settings.PARLEY_OUTGOING_WEBHOOK_MAX_ATTEMPTS))


def retry_delay(attempts: int) -> float:
    """Seconds to wait after the ``attempts``-th failed attempt: the first
    wait, doubling each time."""
    return float(settings.PARLEY_OUTGOING_WEBHOOK_RETRY_SECONDS) * 2 ** (attempts - 1)


def _claim_attempt(delivery_id: UUID) -> OutgoingDelivery | None:
    """Count one more attempt of a pending delivery and return it; None
    when it is delivered or failed already (a redelivered task)."""
    with transaction.atomic():
        updated = OutgoingDelivery.objects.filter(
            pk=delivery_id, state=DeliveryState.PENDING
        ).update(attempts=F("attempts") + 1)
    return selectors.delivery(delivery_id) if updated else None


def _record(delivery: OutgoingDelivery, **fields) -> None:
    if "last_error" in fields:
        fields["last_error"] = fields["last_error"][:500]
    OutgoingDelivery.objects.filter(pk=delivery.pk).update(**fields)


def attempt_delivery(*, delivery_id: UUID) -> float | None:
    """Make one attempt; the seconds to wait before the next one, or None
    when there is none to make (delivered, failed, or not pending)."""
    delivery = _claim_attempt(delivery_id)
    if delivery is None:
        return None
    bot = delivery.bot
    if not bot.user.is_active or not bot.outgoing_url:
        _record(delivery, state=DeliveryState.FAILED, last_error="The bot is off or has no URL.")
        return None
    body = json.dumps(payload(bot, delivery.message), separators=(",", ":")).encode()
    timestamp = str(int(time.time()))
    try:
        answer = net.post(
            bot.outgoing_url,
            body=body,
            content_type="application/json",
            headers={
                "X-Parley-Timestamp": timestamp,
                "X-Parley-Signature": targets.signature(bot.signing_secret, timestamp, body),
                "X-Parley-Delivery": str(delivery.pk),
            },
            max_bytes=int(settings.PARLEY_OUTGOING_WEBHOOK_MAX_ANSWER_BYTES),
            timeout=targets.timeout_seconds(),
            allowed=targets.allow_list(),
            user_agent=USER_AGENT,
        )
    except net.Refused as refused:
        final = refused.code in _FINAL_REFUSALS
        return _failed(delivery, status=None, error=str(refused), retry=not final)
    if 200 <= answer.status < 300:
        error = _post_answer(delivery, answer)
        _record(
            delivery,
            state=DeliveryState.DELIVERED,
            delivered_at=timezone.now(),
            last_status=answer.status,
            last_error=error,
        )
        return None
    retry = answer.status >= 500 or answer.status == 429
    return _failed(delivery, status=answer.status, error=f"Answered {answer.status}.", retry=retry)


def _failed(
    delivery: OutgoingDelivery, *, status: int | None, error: str, retry: bool
) -> float | None:
    if retry and delivery.attempts < max_attempts():
        _record(delivery, last_status=status, last_error=error)
        return retry_delay(delivery.attempts)
    _record(delivery, state=DeliveryState.FAILED, last_status=status, last_error=error)
    return None


def _post_answer(delivery: OutgoingDelivery, answer: net.Posted) -> str:
    """Post the bot's answer (a JSON body with ``"text"``), once; what went
    wrong, or "" (also when there is no answer to post)."""
    if not answer.body.strip():
        return ""
    try:
        parsed = json.loads(answer.body)
    except (ValueError, RecursionError):
        return ""  # not JSON: an acknowledgement, not an answer
    text = parsed.get("text") if isinstance(parsed, dict) else None
    if text is None:
        return ""
    if answer.truncated:
        return "The answer was longer than allowed; not posted."
    message = delivery.message
    try:
        services.send_message(
            sender=delivery.bot.user,
            conversation_id=message.conversation_id,
            content=clean_content(text),
            client_id=uuid.uuid5(_ANSWER_CLIENT_IDS, str(delivery.pk)),
            parent_id=message.parent_id,
        )
    except MessagingError as error:
        return f"The answer was not posted: {error}"
    return ""
