"""Socket commands for reactions, pins and saved messages
(docs/protocol.md, "Reactions", "Pins and saved messages"). Each spends a
token of the sender's bucket, as a send does, and answers ``ok``; what
changed reaches the members as ``reaction.added``, ``message.pinned``, …
(and the person's own tabs as ``saved.changed``)."""

from messaging import validation
from messaging.realtime import ratelimit
from messaging.realtime.database import db
from messaging.threads.emoji import clean_emoji
from messaging.threads.services import pins, reactions, saved


def _message_id(frame: dict):
    return validation.parse_uuid(frame.get("message_id"), what="message_id")


def _emoji(frame: dict) -> str:
    return clean_emoji(frame.get("emoji"))


async def add_reaction(consumer, frame, echo):
    await ratelimit.take(consumer.user.pk, role=consumer.user.role)
    await db(reactions.add_reaction)(
        user=consumer.user, message_id=_message_id(frame), emoji=_emoji(frame)
    )
    await consumer._send_frame({"type": "ok", **echo})


async def remove_reaction(consumer, frame, echo):
    await ratelimit.take(consumer.user.pk, role=consumer.user.role)
    await db(reactions.remove_reaction)(
        user=consumer.user, message_id=_message_id(frame), emoji=_emoji(frame)
    )
    await consumer._send_frame({"type": "ok", **echo})


async def pin_message(consumer, frame, echo):
    await ratelimit.take(consumer.user.pk, role=consumer.user.role)
    await db(pins.pin_message)(user=consumer.user, message_id=_message_id(frame))
    await consumer._send_frame({"type": "ok", **echo})


async def unpin_message(consumer, frame, echo):
    await ratelimit.take(consumer.user.pk, role=consumer.user.role)
    await db(pins.unpin_message)(user=consumer.user, message_id=_message_id(frame))
    await consumer._send_frame({"type": "ok", **echo})


async def save_message(consumer, frame, echo):
    await ratelimit.take(consumer.user.pk, role=consumer.user.role)
    await db(saved.save_message)(user=consumer.user, message_id=_message_id(frame))
    await consumer._send_frame({"type": "ok", **echo})


async def unsave_message(consumer, frame, echo):
    await ratelimit.take(consumer.user.pk, role=consumer.user.role)
    await db(saved.unsave_message)(user=consumer.user, message_id=_message_id(frame))
    await consumer._send_frame({"type": "ok", **echo})


COMMANDS: dict = {
    "reaction.add": add_reaction,
    "reaction.remove": remove_reaction,
    "message.pin": pin_message,
    "message.unpin": unpin_message,
    "message.save": save_message,
    "message.unsave": unsave_message,
}
