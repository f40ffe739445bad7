"""Reads the real-time package needs: who is told of a user's status, the
stored ``last_seen`` that accompanies a live status, whether an open
socket's session still stands, and the ``message.new`` frames that fill a
gap in a conversation's live stream."""

from collections.abc import Iterable
from importlib import import_module
from uuid import UUID

from django.conf import settings
from django.contrib.auth import HASH_SESSION_KEY, SESSION_KEY
from django.contrib.sessions.backends.db import SessionStore as DatabaseSessionStore
from django.utils import timezone
from django.utils.crypto import constant_time_compare
from rest_framework.authtoken.models import Token

from accounts.models import POWER_FIELDS, User
from messaging import events
from messaging.models import ConversationParticipant, Message, UserPresence
from messaging.threads.payloads import with_extras


def contact_ids(user_id: UUID | str) -> list[str]:
    """People who share an active conversation with ``user_id``, and the user."""
    conversations = ConversationParticipant.objects.active().filter(user_id=user_id)
    return [
        str(pk)
        for pk in ConversationParticipant.objects.active()
        .filter(conversation_id__in=conversations.values("conversation_id"))
        .values_list("user_id", flat=True)
        .distinct()
    ]


def last_seen(user_ids: Iterable[UUID | str]) -> dict[str, str]:
    """``{user_id: last_seen (ISO 8601)}`` for each id with a stored presence."""
    return {
        str(user_id): seen.isoformat()
        for user_id, seen in UserPresence.objects.filter(user_id__in=list(user_ids)).values_list(
            "user_id", "last_seen"
        )
    }


# A bot's socket (opened with its API token, messaging.realtime.handshake)
# stands in its session key's place: this prefix and the token's key.
TOKEN_SOCKET_PREFIX = "token-"


def revoked_sockets(sockets: Iterable[tuple[str | None, str]]) -> set[tuple[str | None, str]]:
    """The ``(session_key, user_id)`` pairs whose socket must close: the
    account is gone or deactivated, or the session is gone (logged out,
    expired, flushed), belongs to someone else, or was signed with a password
    that has changed since. The same rules as Django's ``get_user`` applies
    to every HTTP request; a pair without a session key is checked for the
    account only. A bot's socket (its key ``TOKEN_SOCKET_PREFIX`` and its
    API token's key) must close once that token is no longer the bot's
    (rotated or deleted)."""
    pairs = set(sockets)
    users = {
        str(user.pk): user
        for user in User.objects.filter(pk__in={user_id for _, user_id in pairs}, is_active=True)
    }
    tokens = {
        key.removeprefix(TOKEN_SOCKET_PREFIX)
        for key, _ in pairs
        if key is not None and key.startswith(TOKEN_SOCKET_PREFIX)
    }
    live_tokens = {
        (key, str(user_id))
        for key, user_id in Token.objects.filter(key__in=tokens).values_list("key", "user_id")
    }
    sessions = _sessions(
        key
        for key, user_id in pairs
        if key is not None and not key.startswith(TOKEN_SOCKET_PREFIX) and str(user_id) in users
    )
    revoked: set[tuple[str | None, str]] = set()
    for session_key, user_id in pairs:
        user = users.get(str(user_id))
        if session_key is not None and session_key.startswith(TOKEN_SOCKET_PREFIX):
            token = (session_key.removeprefix(TOKEN_SOCKET_PREFIX), str(user_id))
            if user is None or token not in live_tokens:
                revoked.add((session_key, user_id))
            continue
        session = sessions.get(session_key, {}) if session_key is not None and user else None
        if user is None or (session is not None and not _session_of(session, user)):
            revoked.add((session_key, user_id))
    return revoked


def current_powers(user_ids: Iterable[str]) -> dict[str, tuple]:
    """Each active account's ``User.powers`` now, by id: a socket whose
    person's powers changed since it connected must close (the admin's save
    closes it at once; this is the heartbeat's second line, should that
    event be lost)."""
    return {
        str(user.pk): user.powers
        for user in User.objects.filter(pk__in=set(user_ids), is_active=True).only(*POWER_FIELDS)
    }


def _sessions(keys: Iterable[str]) -> dict[str, dict]:
    """The data of each session of ``keys`` that still stands (not
    expired, not flushed); a key missing from the answer stands for none.

    Every heartbeat re-checks every socket of the process, thousands on a
    busy one: a database-backed engine (``db``, ``cached_db``, whose
    database rows are the truth) answers them in one statement, not one
    ``load()`` each. Any other engine loads each session as a request
    would."""
    store = import_module(settings.SESSION_ENGINE).SessionStore
    keys = set(keys)
    if not keys:
        return {}
    if not issubclass(store, DatabaseSessionStore):
        return {key: data for key in keys if (data := store(key).load())}
    decoder = store()
    rows = (
        store.get_model_class()
        .objects.filter(session_key__in=keys, expire_date__gt=timezone.now())
        .values_list("session_key", "session_data")
    )
    return {key: decoder.decode(data) for key, data in rows}


def _session_of(session: dict, user: User) -> bool:
    if session.get(SESSION_KEY) != user._meta.pk.value_to_string(user):
        return False
    signed = session.get(HASH_SESSION_KEY) or ""
    return constant_time_compare(signed, user.get_session_auth_hash()) or any(
        constant_time_compare(signed, fallback)
        for fallback in user.get_session_auth_fallback_hash()
    )


def message_new_frames(
    conversation_id: UUID | str, *, after_seq: int, before_seq: int, limit: int
) -> list[tuple[int, str]]:
    """``(seq, frame)`` for each stored message of the conversation with
    ``after_seq < seq < before_seq``, in seq order, at most ``limit`` (the
    lowest seqs): ``frame`` is the ``message.new`` text the send published
    (``events.message_new`` serialized by ``events.to_json``), built from
    the message as it stands now (an edit or a deletion since shows). For
    the live stream's own gap fill (``messaging.realtime.ordering``): the
    sockets it reaches are already members, so no one is asked here."""
    messages = with_extras(
        Message.objects.filter(
            conversation_id=conversation_id, seq__gt=after_seq, seq__lt=before_seq
        )
        .select_related("sender")
        .prefetch_related("attachments")
        .order_by("seq")
    )[:limit]
    return [(message.seq, events.to_json(events.message_new(message))) for message in messages]
