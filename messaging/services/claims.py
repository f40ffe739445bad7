"""The send's claim, compiled once per process.

Every send runs ``UPDATE conversations SET last_seq = last_seq + 1 … WHERE
<policy.postable_conversations(sender)> RETURNING last_seq`` (``store``).
Django compiles that queryset anew each time, and the compiling cost more
CPU than everything else in a send together (3.4 ms of 8 on the bench
machine: subqueries for membership, mutes, blocks and an active account).
The SQL is the same for every sender, conversation and moment; only three
values change. So the claim is compiled once with stand-in values
(``messaging.compiled``, which refuses a claim that depends on anything
else), and each send binds the real ones into the same text (on
PostgreSQL, where sends are many; see ``postable``).
tests/messaging/test_claims.py compares the bound claim with the freshly
compiled one over every kind of sender and conversation.
"""

import functools
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from django.db import connection
from django.db.models import QuerySet

from accounts.models import User
from messaging import compiled, policy
from messaging.e2e import messages as e2e_messages
from messaging.models import Conversation
from messaging.services import store

# Values no real row or clock has: random ids, and an instant in 1999.
_FIRST = {
    "user": uuid.uuid4(),
    "conversation": uuid.uuid4(),
    "now": datetime(1999, 12, 31, 23, 59, 58, 123457, UTC),
}
_SECOND = {
    "user": uuid.uuid4(),
    "conversation": uuid.uuid4(),
    "now": datetime(1999, 1, 2, 3, 4, 5, 678901, UTC),
}


def _claim(sender: User, now: datetime, *, encrypted: bool) -> QuerySet[Conversation]:
    """The policy's postable conversations; a plain send's only those that
    are not end-to-end encrypted (a subquery of the same statement: the
    plain send's cost stays one statement), an encrypted send's any (its
    key state is checked under a lock, ``e2e_messages.check_key_state``)."""
    claim = policy.postable_conversations(sender, now=now)
    return claim if encrypted else e2e_messages.plain_only(claim)


@functools.cache
def _template(main_stream: bool, encrypted: bool = False) -> compiled.Template:
    def compile_with(stand_ins: Mapping[str, Any]) -> tuple[str, list]:
        claim = _claim(User(pk=stand_ins["user"]), stand_ins["now"], encrypted=encrypted)
        compiled_claim = store.compile_claim(
            claim, stand_ins["conversation"], stand_ins["now"], main_stream=main_stream
        )
        return compiled_claim.sql, compiled_claim.params

    return compiled.template(compile_with, _FIRST, _SECOND, what="the send's claim")


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
    template = _template(main_stream, encrypted)
    return store.CompiledClaim(
        template.sql, template.bind(user=sender.pk, conversation=conversation_id, now=now)
    )
