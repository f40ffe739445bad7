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


def _command(service, *, with_emoji: bool = False):
    """A command that spends a send token, calls ``service`` for the frame's
    ``message_id`` (and ``emoji``) as the socket's user, and answers ``ok``."""

    async def handle(consumer, frame, echo):
        await ratelimit.take(consumer.user.pk, role=consumer.user.role)
        arguments = {"user": consumer.user, "message_id": _message_id(frame)}
        if with_emoji:
            arguments["emoji"] = clean_emoji(frame.get("emoji"))
        await db(service)(**arguments)
        await consumer._send_frame({"type": "ok", **echo})

    return handle


COMMANDS: dict = {
    "reaction.add": _command(reactions.add_reaction, with_emoji=True),
    "reaction.remove": _command(reactions.remove_reaction, with_emoji=True),
    "message.pin": _command(pins.pin_message),
    "message.unpin": _command(pins.unpin_message),
    "message.save": _command(saved.save_message),
    "message.unsave": _command(saved.unsave_message),
}
