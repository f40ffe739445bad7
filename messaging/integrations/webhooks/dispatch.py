"""The send's one question for bots, answered without a query: may this
message concern a bot?

``queue_on_send`` runs inside every send's transaction. A message concerns
a bot only in a conversation a bot is a member of (a mention names a
member; a direct conversation with a bot has the bot as a member), so each
process keeps the set of such conversations, read in one query at most once
every ``PARLEY_BOT_MEMBERS_CACHE_SECONDS``; for any other conversation the
send does nothing more. Otherwise the routing task (``tasks.route_message``)
is queued after commit and decides, from the stored message, which bots
are told (``services.outgoing.route_message``).

A bot's own messages are never routed: bots do not trigger bots, so two
bots cannot answer each other for ever.
"""

import threading
import time
from collections.abc import Iterable

from django.conf import settings
from django.db import transaction

from accounts.models import Role, User
from messaging import events
from messaging.models import ConversationParticipant, Message

_lock = threading.Lock()
_conversations: frozenset[str] = frozenset()
_read_at: float | None = None


def conversations_with_bots() -> frozenset[str]:
    """The ids of conversations with an active bot member, as this process
    last read them (at most ``PARLEY_BOT_MEMBERS_CACHE_SECONDS`` ago)."""
    global _conversations, _read_at
    now = time.monotonic()
    with _lock:
        fresh = _read_at is not None and now - _read_at < settings.PARLEY_BOT_MEMBERS_CACHE_SECONDS
        if fresh:
            return _conversations
    found = frozenset(
        str(pk)
        for pk in ConversationParticipant.objects.active()
        .filter(user__role=Role.BOT, user__is_active=True)
        .values_list("conversation_id", flat=True)
        .distinct()
    )
    with _lock:
        _conversations, _read_at = found, now
    return found


def forget() -> None:
    """Read the set again at the next send (this process added a bot)."""
    global _read_at
    with _lock:
        _read_at = None


def note_members(users: Iterable[User]) -> None:
    """Read the set again after the current transaction commits when one of
    ``users``, just made members of a conversation, is a bot: this
    process's sends there are routed at once (other processes' within
    ``PARLEY_BOT_MEMBERS_CACHE_SECONDS``)."""
    if any(user.role == Role.BOT for user in users):
        transaction.on_commit(forget)


def queue_on_send(message: Message) -> None:
    """Queue the routing of a message just stored, after commit, when it
    may concern a bot. Called inside the send's transaction."""
    if message.sender is not None and message.sender.role == Role.BOT:
        return
    if str(message.conversation_id) not in conversations_with_bots():
        return
    from messaging.integrations.webhooks import tasks

    events.enqueue_on_commit(tasks.route_message, str(message.pk))
