"""The send's claim, compiled once per process.

Every send runs ``UPDATE conversations SET last_seq = last_seq + 1 … WHERE
<policy.postable_conversations(sender)> RETURNING last_seq`` (``store``).
Django compiles that queryset anew each time, and the compiling cost more
CPU than everything else in a send together (3.4 ms of 8 on the bench
machine: subqueries for membership, mutes, blocks and an active account).
The SQL is the same for every sender, conversation and moment; only three
values change. So the claim is compiled once with stand-in values, and each
send binds the real ones into the same text (on PostgreSQL, where sends
are many; see ``postable``).

Binding by value is safe only if every parameter is either a stand-in or a
constant. ``_template`` proves it when it builds: it compiles the claim
twice with two different sets of stand-ins and refuses (``ValueError``) if
anything but the stand-ins' places differ, or if a stand-in is missing. A
policy change that makes the claim depend on something else (a value
computed from the time, say) fails there, on the first send, not silently.
tests/messaging/test_claims.py compares the bound claim with the freshly
compiled one over every kind of sender and conversation.
"""

import functools
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from uuid import UUID

from django.db import connection
from django.db.models import QuerySet

from accounts.models import User
from messaging import policy
from messaging.e2e import messages as e2e_messages
from messaging.models import Conversation
from messaging.services import store


@dataclass(frozen=True)
class _StandIns:
    user: UUID
    conversation: UUID
    now: datetime

    def compile(self, *, main_stream: bool, encrypted: bool) -> store.CompiledClaim:
        claim = _claim(User(pk=self.user), self.now, encrypted=encrypted)
        return store.compile_claim(claim, self.conversation, self.now, main_stream=main_stream)

    def slot(self, value: object) -> str | None:
        """Which stand-in ``value`` is, if any."""
        for name in ("user", "conversation", "now"):
            stand_in = getattr(self, name)
            if type(value) is type(stand_in) and value == stand_in:
                return name
        return None


@dataclass(frozen=True)
class _Template:
    sql: str
    # For each parameter: the name of the value to bind there, or a constant.
    slots: tuple[tuple[str | None, object], ...]

    def bind(self, **values: object) -> store.CompiledClaim:
        params = [values[name] if name else constant for name, constant in self.slots]
        return store.CompiledClaim(self.sql, params)


# Values no real row or clock has: random ids, and an instant in 1999.
_FIRST = _StandIns(uuid.uuid4(), uuid.uuid4(), datetime(1999, 12, 31, 23, 59, 58, 123457, UTC))
_SECOND = _StandIns(uuid.uuid4(), uuid.uuid4(), datetime(1999, 1, 2, 3, 4, 5, 678901, UTC))


def _claim(sender: User, now: datetime, *, encrypted: bool) -> QuerySet[Conversation]:
    """The policy's postable conversations; a plain send's only those that
    are not end-to-end encrypted (a subquery of the same statement: the
    plain send's cost stays one statement), an encrypted send's any (its
    key state is checked under a lock, ``e2e_messages.check_key_state``)."""
    claim = policy.postable_conversations(sender, now=now)
    return claim if encrypted else e2e_messages.plain_only(claim)


@functools.cache
def _template(main_stream: bool, encrypted: bool = False) -> _Template:
    first = _FIRST.compile(main_stream=main_stream, encrypted=encrypted)
    second = _SECOND.compile(main_stream=main_stream, encrypted=encrypted)
    if first.sql != second.sql or len(first.params) != len(second.params):
        raise ValueError("The send's claim compiles to different SQL for different values.")
    slots: list[tuple[str | None, object]] = []
    for one, other in zip(first.params, second.params, strict=True):
        name = _FIRST.slot(one)
        if name is None and one != other:
            raise ValueError(f"A parameter of the send's claim is not constant: {one!r}")
        if name is not None and _SECOND.slot(other) != name:
            raise ValueError(f"The send's claim binds {name} inconsistently.")
        slots.append((name, None if name else one))
    missing = {"user", "conversation", "now"} - {name for name, _ in slots if name}
    if missing:
        raise ValueError(f"The send's claim does not depend on {', '.join(sorted(missing))}.")
    return _Template(first.sql, tuple(slots))


def postable(
    sender: User,
    conversation_id: UUID,
    now: datetime,
    *,
    main_stream: bool,
    encrypted: bool = False,
) -> QuerySet[Conversation] | store.CompiledClaim:
    """The claim of ``sender``'s send to ``conversation_id`` at ``now``, for
    ``store.store_message``: on PostgreSQL bound into the SQL compiled once.
    Elsewhere (SQLite, the embedded default) Django adapts values to text as
    it compiles, so they cannot be told apart from constants by type: there
    it is ``policy.postable_conversations`` itself, which ``store_message``
    compiles, as before.

    ``encrypted``: the send carries an ``e2e`` object; without it the claim
    refuses an end-to-end encrypted conversation (``e2e_required``)."""
    if connection.vendor != "postgresql":
        return _claim(sender, now, encrypted=encrypted)
    return _template(main_stream, encrypted).bind(
        user=sender.pk, conversation=conversation_id, now=now
    )
