"""Every event Parley pushes: the payload builders and the one transport that
sends them (after commit from services; at once for ephemeral events).

Groups: every socket of a user joins ``user.<id>``, and the group of each
conversation the user is in, ``conv.<id>``. An event travels through the
channel layer as ``{"type": <handler>, "frame": <JSON text>, "group":
<group>, ...routing}``: the frame is serialized once per event, not once per
member; each process's hub (``messaging.realtime.hub``, the one subscriber
per process, through the receiving functions at the end of this module)
receives it once and hands the text unchanged to each local socket of the
group. The channel layer may drop
events; clients recover from PostgreSQL (resume, history), so an event is a
hint, never the record.
"""

import asyncio
import concurrent.futures
import json
import logging
import threading
from collections.abc import Awaitable, Iterable
from datetime import datetime
from uuid import UUID

from asgiref.sync import SyncToAsync, async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connections, transaction
from django.utils.translation import gettext

from config import broker
from messaging.e2e import messages as e2e_messages
from messaging.e2e.payloads import e2e_of
from messaging.files.payloads import attachment_payload
from messaging.models import ConversationType, MessageType
from messaging.realtime.handover import handover_for
from messaging.support import timers
from messaging.support.models import SupportRequest
from messaging.threads import payloads as thread_payloads

logger = logging.getLogger(__name__)


def conversation_group(conversation_id: UUID | str) -> str:
    return f"conv.{UUID(str(conversation_id)).hex}"


def user_group(user_id: UUID | str) -> str:
    return f"user.{UUID(str(user_id)).hex}"


# The group every hub subscribes to, whatever its sockets: events for many
# people at once (``apublish_to_users``) go through it once per process.
PEOPLE_GROUP = "people"


def session_group(session_key: str) -> str:
    return f"session.{session_key}"


def conversation_of_group(group: str) -> str | None:
    """The conversation (hex id) a ``conv.<id>`` group stands for; None for
    any other group."""
    return group[5:] if group.startswith("conv.") else None


def to_json(frame: dict) -> str:
    return json.dumps(frame, cls=DjangoJSONEncoder, separators=(",", ":"))


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


# --- Payloads ---------------------------------------------------------------


def user_payload(user) -> dict:
    return {"id": str(user.pk), "display_name": user.display_name, "role": user.role}


def message_payload(message) -> dict:
    """The public shape of a message. A deleted message keeps its place
    (id, seq) and loses its content; so does a message a moderator hid
    (``hidden``), for everyone, its sender included: the content stays in
    the database for the moderators and comes back if they restore it."""
    sender = message.sender
    gone = bool(message.deleted_at or message.hidden_at)
    return {
        "id": str(message.id),
        "conversation_id": str(message.conversation_id),
        "seq": message.seq,
        "sender": user_payload(sender) if sender else None,
        "client_id": str(message.client_id) if message.client_id else None,
        "message_type": message.message_type,
        "content": "" if gone else message.content,
        "file_url": "" if gone else message.file_url,
        "metadata": {} if gone else e2e_messages.metadata_without_e2e(message.metadata),
        "attachments": attachments_payload(message),
        "sent_at": _iso(message.sent_at),
        "edited_at": _iso(message.edited_at),
        "deleted_at": _iso(message.deleted_at),
        "hidden": message.hidden_at is not None,
        # Replies, threads, reactions, pins, rich text, link previews.
        **thread_payloads.message_extras(message, user_payload=user_payload, iso=_iso),
        # End-to-end encrypted (docs/e2e.md): the ciphertext, as sent; null
        # once deleted or hidden.
        **({"e2e": e2e_messages.e2e_of(message)} if e2e_messages.is_encrypted(message) else {}),
    }


def attachments_payload(message) -> list[dict]:
    """A file or image message's attachments, in order; none once deleted
    or hidden. Text messages have none and cost no query (selectors
    prefetch them for the others)."""
    if message.deleted_at or message.hidden_at:
        return []
    if message.message_type not in (MessageType.FILE, MessageType.IMAGE, MessageType.ENCRYPTED):
        return []
    return [attachment_payload(a) for a in message.attachments.all()]


def participant_payload(participant) -> dict:
    return {
        "user": user_payload(participant.user),
        "role": participant.role,
        "joined_at": _iso(participant.joined_at),
        "last_read_seq": participant.last_read_seq,
        "last_delivered_seq": participant.last_delivered_seq,
    }


def conversation_payload(conversation, participants=None) -> dict:
    """``participants`` are the active memberships; loaded when not given."""
    if participants is None:
        participants = conversation.participants.active().select_related("user")
    return {
        "id": str(conversation.id),
        "type": conversation.type,
        "title": conversation.title,
        "created_at": _iso(conversation.created_at),
        "archived_at": _iso(conversation.archived_at),
        "last_seq": conversation.last_seq,
        "last_message_at": _iso(conversation.last_message_at),
        "metadata": conversation.metadata,
        "participants": [participant_payload(p) for p in participants],
        # null, or an encrypted conversation's key state (docs/e2e.md).
        "e2e": e2e_of(conversation),
        **_support_of(conversation),
    }


def _support_of(conversation) -> dict:
    """``{"support": <payload> | None}`` for a support conversation (None: one
    opened before support requests existed), nothing for the others. A
    caller that lists many (the inbox) brings the request along with
    ``select_related("support_request__category", …)``; otherwise it costs
    one query, for support conversations only."""
    if conversation.type != ConversationType.SUPPORT:
        return {}
    descriptor = type(conversation).support_request
    if descriptor.is_cached(conversation):
        request = getattr(conversation, "support_request", None)
    else:
        request = (
            SupportRequest.objects.select_related("category", "requester", "assignee")
            .filter(conversation_id=conversation.pk)
            .first()
        )
    return {"support": support_payload(request) if request is not None else None}


def support_payload(request) -> dict:
    """A support request as frames and the API show it (the API adds
    ``allowed_statuses`` for the person asking). Its category, requester and
    assignee should come with it (``select_related``)."""
    rated = request.rated_at is not None
    return {
        "id": str(request.id),
        "conversation_id": str(request.conversation_id),
        "subject": request.subject,
        "status": request.status,
        "priority": request.priority,
        "category": {"slug": request.category.slug, "name": request.category.name},
        "requester": user_payload(request.requester),
        "assignee": user_payload(request.assignee) if request.assignee_id else None,
        "created_at": _iso(request.created_at),
        "first_response_at": _iso(request.first_response_at),
        "resolved_at": _iso(request.resolved_at),
        "closed_at": _iso(request.closed_at),
        "overdue": timers.is_overdue(request),
        "rating": {
            "satisfied": request.satisfied,
            "comment": request.rating_comment,
            "rated_at": _iso(request.rated_at),
        }
        if rated
        else None,
    }


# --- Sending ----------------------------------------------------------------
#
# The only code that sends to the channel layer: services publish after
# commit; the consumer publishes ephemeral events (typing, presence), which
# no transaction backs, at once.


def _layer_message(group: str, frame: dict, text: str, routing: dict) -> dict:
    frame_type = frame["type"]
    # The group rides along: one subscriber per process receives the events
    # of every group its sockets are in, and fans each out to that group's.
    message = {"type": frame_type.replace(".", "_"), "frame": text, "group": group, **routing}
    if group.startswith("conv."):
        # Sockets drop conversation events for conversations they have left,
        # even if the event was already on its way when they left.
        message["conversation"] = group.removeprefix("conv.")
        if frame_type == "message.new":
            # The hub releases a conversation's new messages in seq order
            # (messaging.realtime.ordering): it reads the seq here, not
            # from the frame's text.
            message["seq"] = frame["message"]["seq"]
    return message


def message_new_event(conversation: str, seq: int, text: str) -> dict:
    """The layer message ``publish`` sends for the ``message.new`` frame
    ``text`` of seq ``seq`` in ``conversation`` (hex): what live order
    releases for a message it read from the database to fill a gap."""
    return _layer_message(
        conversation_group(conversation),
        {"type": "message.new", "message": {"seq": seq}},
        text,
        {},
    )


def publish(group: str, frame: dict, **routing) -> None:
    """Send ``frame`` to every socket in ``group`` now.

    ``routing`` adds fields the consumer reads but does not forward (for
    example the conversation to join on ``conversation.added``).
    """
    try:
        message = _layer_message(group, frame, to_json(frame), routing)
        async_to_sync(get_channel_layer().group_send)(group, message)
    except Exception:
        # The layer is a hint: the record is in the database, clients resume.
        logger.exception("Could not publish %s to %s", frame["type"], group)


async def apublish(group: str, frame: dict, **routing) -> None:
    """``publish`` for async callers (consumers): ephemeral events only."""
    try:
        message = _layer_message(group, frame, to_json(frame), routing)
        await get_channel_layer().group_send(group, message)
    except Exception:
        logger.exception("Could not publish %s to %s", frame["type"], group)


async def apublish_to_users(user_ids: Iterable[UUID | str], frame: dict) -> None:
    """``frame`` to every socket of each of ``user_ids``, as ONE layer
    message: sent to ``PEOPLE_GROUP``, which every process's hub receives,
    with the people's groups beside it; each hub hands the frame to the
    local sockets of those people (``messaging.realtime.hub``). A presence
    change in a room of 500 was 499 publishes, one per contact; it is one."""
    await apublish(PEOPLE_GROUP, frame, groups=[user_group(user_id) for user_id in user_ids])


def publish_to_users_on_commit(user_ids: Iterable[UUID | str], frame: dict) -> None:
    """``apublish_to_users`` once the current transaction commits: one layer
    message, whoever the people are."""
    publish_on_commit(PEOPLE_GROUP, frame, groups=[user_group(user_id) for user_id in user_ids])


async def resubscribe() -> None:
    """Subscribe this process's channels and groups again, on the layers that
    can (``messaging.realtime.layer``): a restarted Redis forgot them all."""
    layer = get_channel_layer()
    if hasattr(layer, "resubscribe"):
        await layer.resubscribe()


# --- Receiving: the hub's subscription ------------------------------------------
#
# One channel per process (``messaging.realtime.hub``) subscribes to every
# group a local socket is in; sockets have no channel of their own.


async def open_channel() -> str:
    """A new channel of this process, for the hub to receive on."""
    return await get_channel_layer().new_channel()


async def subscribe(group: str, channel: str) -> None:
    """Deliver ``group``'s events to ``channel`` too."""
    await get_channel_layer().group_add(group, channel)


async def unsubscribe(group: str, channel: str) -> None:
    """Stop delivering ``group``'s events to ``channel``."""
    await get_channel_layer().group_discard(group, channel)


async def receive(channel: str) -> dict:
    """The next event sent to ``channel`` (a group's, as ``_layer_message``
    built it). Never cancel a wait here but to stop receiving for good: the
    pub/sub layer then forgets the channel."""
    return await get_channel_layer().receive(channel)


# The event loop a thread of ``run_beside`` works for.
_beside = threading.local()


def server_loop() -> asyncio.AbstractEventLoop | None:
    """The running event loop this sync thread works for (a consumer's or
    an ASGI view's ``sync_to_async`` thread, or ``run_beside``'s), or None
    outside a server."""
    loop = getattr(_beside, "loop", None) or getattr(
        SyncToAsync.threadlocal, "main_event_loop", None
    )
    if loop is None or loop.is_closed() or not loop.is_running():
        return None
    return loop


def publish_on_commit(group: str, frame: dict, **routing) -> None:
    """Publish once the current transaction commits; never if it rolls back.
    In a server's database thread the publish is handed to the event loop
    (``publish_from_thread``), not waited for."""
    loop = server_loop()
    transaction.on_commit(lambda: publish_from_thread(loop, group, frame, **routing))


def _group_send(group: str, message: dict) -> Awaitable[None]:
    return get_channel_layer().group_send(group, message)


def _live_epoch(loop: asyncio.AbstractEventLoop, group: str) -> int | None:
    """The channel layer's ``live_epoch`` of ``group`` (the Redis layer's;
    the in-memory layer has no outages: always 0)."""
    layer = get_channel_layer()
    return layer.live_epoch(group, loop) if hasattr(type(layer), "live_epoch") else 0


def publish_from_thread(
    loop: asyncio.AbstractEventLoop | None, group: str, frame: dict, **routing
) -> None:
    """``publish`` from a thread of a server's process, on ``loop`` (the
    server's running event loop, which owns the in-memory channel layer's
    queues: touching them from another loop or thread is unsafe). Handed
    over in order and not waited for (``messaging.realtime.handover``).
    Without a loop, ``publish``."""
    if loop is None or loop.is_closed():
        publish(group, frame, **routing)
        return
    try:
        message = _layer_message(group, frame, to_json(frame), routing)
        handover_for(loop, _group_send, _live_epoch).hand(group, message)
    except Exception:
        logger.exception("Could not publish %s to %s", frame["type"], group)


def publish_each(frames: Iterable[tuple[str, dict]]) -> None:
    """``publish`` of several ``(group, frame)`` pairs, sent concurrently
    from one event loop round trip (a fan-out tells hundreds of people, each
    their own unread count). A group the layer fails to reach is logged and
    does not hold up the others."""
    pairs = list(frames)
    if not pairs:
        return

    async def send_all() -> None:
        layer = get_channel_layer()
        results = await asyncio.gather(
            *(
                layer.group_send(group, _layer_message(group, frame, to_json(frame), {}))
                for group, frame in pairs
            ),
            return_exceptions=True,
        )
        failed = [r for r in results if isinstance(r, BaseException)]
        if failed:
            logger.error(
                "Could not publish to %d of %d groups", len(failed), len(pairs), exc_info=failed[0]
            )

    try:
        async_to_sync(send_all)()
    except Exception:
        logger.exception("Could not publish %d frames", len(pairs))


def enqueue_on_commit(task, *args, beside: bool = False) -> None:
    """Queue the Celery ``task`` with ``args`` (ids) once the current
    transaction commits; never if it rolls back, so a worker never looks for
    rows that do not exist (``enqueue``)."""
    transaction.on_commit(lambda: enqueue(task, *args, beside=beside))


def enqueue(task, *args, beside: bool = False) -> None:
    """Queue the Celery ``task`` with ``args`` (ids) now. Every such task
    publishes live frames: with ``PARLEY_LIVE_TASKS_IN_PROCESS`` (the
    embedded default) it runs in this process instead of a worker, where it
    is (the caller waits for it), or ``beside`` it on a thread of its own
    (``run_beside``: work that takes seconds, such as a link's card or a
    bot's answer). Like an event, a task that cannot be queued (broker
    down) is logged, not raised: the message is stored either way."""
    try:
        if not settings.PARLEY_LIVE_TASKS_IN_PROCESS:
            broker.send(task, *args)
        elif beside:
            run_beside(task, *args)
        else:
            # The in-memory channel layer reaches only this process's
            # sockets: a worker elsewhere could not deliver the task's
            # frames, so the task runs here, now (it queues its own slow
            # parts, push and email, for the worker).
            task.apply(args=args)
    except Exception:
        logger.exception("Could not enqueue %s%r", getattr(task, "name", task), args)


# Live tasks run beside the work that queued them (``run_beside``), a few at
# a time: on the embedded default only, for one person trying Parley out.
_beside_pool = concurrent.futures.ThreadPoolExecutor(max_workers=4, thread_name_prefix="live-task")


def run_beside(task, *args) -> None:
    """Run the Celery ``task`` with ``args`` in this process, on a thread of
    its own, now. For live work that takes seconds (a link's card, an
    assistant's answer) on the embedded default
    (``PARLEY_LIVE_TASKS_IN_PROCESS``): a worker's frames would reach no
    socket, and run where it was queued it would hold up a send. Its
    publishes go to the event loop the caller works for (captured here),
    the one that owns the in-memory channel layer."""
    loop = server_loop()

    def run() -> None:
        _beside.loop = loop
        try:
            task.apply(args=args, throw=True)
        except Exception:
            logger.exception("%s%r failed", getattr(task, "name", task), args)
        finally:
            _beside.loop = None
            # This thread's own database connection.
            connections.close_all()

    _beside_pool.submit(run)


# --- Event frames -------------------------------------------------------------


def message_new(message) -> dict:
    return {"type": "message.new", "message": message_payload(message)}


def message_edited(message) -> dict:
    return {"type": "message.edited", "message": message_payload(message)}


def message_deleted(message) -> dict:
    return {"type": "message.deleted", "message": message_payload(message)}


def message_hidden(message) -> dict:
    """A moderator hid the message: every member's page shows the
    placeholder (the payload carries no content)."""
    return {"type": "message.hidden", "message": message_payload(message)}


def message_restored(message) -> dict:
    """A moderator restored a hidden message: its full payload again."""
    return {"type": "message.restored", "message": message_payload(message)}


# --- Threads, reactions, pins, saved messages, link previews ------------------


def thread_updated(root) -> dict:
    """A thread's summary changed (a reply came, or one was deleted): to its
    conversation's group. ``thread.last_reply_seq`` only grows: a client
    keeps the summary with the highest one."""
    thread = root.thread
    return {
        "type": "thread.updated",
        "conversation_id": str(root.conversation_id),
        "thread_id": str(root.pk),
        "thread": thread_payloads.thread_payload(thread, iso=_iso),
    }


def thread_read(*, conversation_id, thread_id, up_to_seq: int, unread: int) -> dict:
    """The person read a thread up to ``up_to_seq``: to their own group, so
    every tab clears the same thread."""
    return {
        "type": "thread.read",
        "conversation_id": str(conversation_id),
        "thread_id": str(thread_id),
        "up_to_seq": up_to_seq,
        "unread": unread,
    }


def reaction_changed(*, added: bool, message, emoji: str, user) -> dict:
    """``reaction.added`` or ``reaction.removed``: one person's emoji on one
    message, to its conversation's group. Applying one twice changes
    nothing (a set of (emoji, user) per message)."""
    return {
        "type": "reaction.added" if added else "reaction.removed",
        "conversation_id": str(message.conversation_id),
        "message_id": str(message.pk),
        "emoji": emoji,
        "user": user_payload(user),
    }


def message_pinned(message, pin) -> dict:
    return {
        "type": "message.pinned",
        "conversation_id": str(message.conversation_id),
        "message_id": str(message.pk),
        "pinned": thread_payloads.pin_payload(pin, user_payload, _iso),
        "message": message_payload(message),
    }


def message_unpinned(message) -> dict:
    return {
        "type": "message.unpinned",
        "conversation_id": str(message.conversation_id),
        "message_id": str(message.pk),
    }


def saved_changed(*, message_id, saved: bool) -> dict:
    """The person saved or unsaved a message: to their own group."""
    return {"type": "saved.changed", "message_id": str(message_id), "saved": saved}


def block_changed(*, user_id) -> dict:
    """A block between the receiver and ``user_id`` was made or lifted (by
    either of them): whether they may write to each other directly
    changed. To the other person's group; the one who acted is answered."""
    return {"type": "block.changed", "user_id": str(user_id)}


def link_preview_updated(message) -> dict:
    """A message's link card is ready, or its sender removed it (``null``)."""
    preview = thread_payloads.one_to_one(message, "link_preview")
    return {
        "type": "link_preview.updated",
        "conversation_id": str(message.conversation_id),
        "message_id": str(message.pk),
        "link_preview": thread_payloads.preview_payload(preview),
    }


def warning_payload(warning) -> dict:
    return {
        "id": str(warning.id),
        "conversation_id": str(warning.conversation_id),
        "message_id": str(warning.message_id) if warning.message_id else None,
        "text": warning.text,
        "created_at": _iso(warning.created_at),
    }


def user_updated(user) -> dict:
    """A person's name (or role) as others show it changed: to everyone who
    shares a conversation with them, and their own sockets."""
    return {"type": "user.updated", "user": user_payload(user)}


def moderation_warning(warning) -> dict:
    """A moderator's warning, to the warned person's own group only."""
    return {"type": "moderation.warning", "warning": warning_payload(warning)}


def mute_payload(mute) -> dict:
    """A moderator's mute as its person reads it: where (``conversation_id``
    null: everywhere) and until when (``until``: its end, or the time it was
    lifted)."""
    return {
        "id": str(mute.id),
        "conversation_id": str(mute.conversation_id) if mute.conversation_id else None,
        "everywhere": mute.conversation_id is None,
        "until": _iso(mute.lifted_at or mute.ends_at),
    }


def moderation_muted(mute) -> dict:
    """A moderator muted a person: to their own group only, so every open
    page says so at once, not at the next refused send."""
    return {"type": "moderation.muted", "mute": mute_payload(mute)}


def moderation_unmuted(mute) -> dict:
    """A moderator lifted a person's mute before its end (a mute that ends
    by the clock sends nothing): to their own group only."""
    return {"type": "moderation.unmuted", "mute": mute_payload(mute)}


def attachment_updated(attachment) -> dict:
    """An attachment of a sent message changed (its preview is ready or
    failed): members' pages replace its placeholder."""
    return {
        "type": "attachment.updated",
        "conversation_id": str(attachment.conversation_id),
        "message_id": str(attachment.message_id),
        "attachment": attachment_payload(attachment),
    }


def receipt(*, conversation_id, user_id, status: str, up_to_seq: int) -> dict:
    return {
        "type": "receipt",
        "conversation_id": str(conversation_id),
        "user_id": str(user_id),
        "status": status,
        "up_to_seq": up_to_seq,
    }


def conversation_added(conversation) -> dict:
    return {"type": "conversation.added", "conversation": conversation_payload(conversation)}


def conversation_updated(conversation) -> dict:
    return {"type": "conversation.updated", "conversation": conversation_payload(conversation)}


def support_updated(request) -> dict:
    """A support request changed (status, assignee, priority, rating, timers):
    to its conversation's group."""
    return {"type": "support.updated", "support": support_payload(request)}


def conversation_removed(conversation_id) -> dict:
    return {"type": "conversation.removed", "conversation_id": str(conversation_id)}


def typing(*, conversation_id, user, is_typing: bool, expires_in: int) -> dict:
    return {
        "type": "typing",
        "conversation_id": str(conversation_id),
        "user": user_payload(user),
        "is_typing": is_typing,
        "expires_in": expires_in,
    }


def notification_payload(notification) -> dict:
    """One entry of the notification centre. ``data`` holds what the feed
    shows without another query (excerpt, conversation title, seq)."""
    actor = notification.actor
    data = notification.data or {}
    if data.get("encrypted") and not data.get("excerpt"):
        # The feed's text for an encrypted message, in the reader's language.
        data = {**data, "excerpt": gettext("New encrypted message")}
    conversation_id = notification.conversation_id
    url = None
    if conversation_id:
        url = f"/c/{conversation_id}/"
        if data.get("thread_id"):
            # A thread reply opens its thread beside the conversation.
            url += f"?thread={data['thread_id']}"
        if data.get("seq"):
            url += f"#seq-{data['seq']}"
    return {
        "id": str(notification.id),
        "kind": notification.kind,
        "conversation_id": str(conversation_id) if conversation_id else None,
        "message_id": str(notification.message_id) if notification.message_id else None,
        "actor": user_payload(actor) if actor else None,
        "data": data,
        "url": url,
        "created_at": _iso(notification.created_at),
        "read_at": _iso(notification.read_at),
    }


def notification_new(notification, *, unread_count: int) -> dict:
    return {
        "type": "notification.new",
        "notification": notification_payload(notification),
        "unread_count": unread_count,
    }


def conversation_muted(*, conversation_id: UUID | str, until: datetime | None, muted: bool) -> dict:
    """A person muted (``until`` null: for ever) or unmuted a conversation;
    every tab of theirs shows it."""
    return {
        "type": "conversation.muted",
        "conversation_id": str(conversation_id),
        "muted": muted,
        "until": _iso(until) if muted else None,
    }


def notification_read(
    *, ids: Iterable[UUID | str] | None, unread_count: int, removed: bool = False
) -> dict:
    """``ids`` None: every notification of the user was marked read.
    ``removed``: the notifications are gone (their message was deleted)."""
    frame: dict = {"type": "notification.read", "unread_count": unread_count}
    if ids is None:
        frame["all"] = True
    else:
        frame["ids"] = [str(i) for i in ids]
    if removed:
        frame["removed"] = True
    return frame


def session_revoked() -> dict:
    return {"type": "session.revoked"}


def presence(*, user_id, status: str, last_seen: datetime | None) -> dict:
    return {
        "type": "presence",
        "user_id": str(user_id),
        "status": status,
        "last_seen": _iso(last_seen),
    }
