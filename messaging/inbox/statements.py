"""The inbox's two statements, compiled once per process.

The inbox asks for the same two statements every time: the person's
memberships with their conversations, unread counts and previews, then the
active members of those conversations with their people. Only the person,
the moment (for mutes that expire) and the conversation type filtered on
change. Django compiles each queryset anew on every call, which cost more
CPU than running it (4–6 ms of the inbox's 15–20 on the bench machine,
docs/benchmarks.md, the read path). So each is compiled once with stand-in
values, and each call binds the real ones into the same text, on
PostgreSQL; elsewhere (SQLite, the embedded default) Django adapts values
to text as it compiles, so stand-ins cannot be told from constants, and
the querysets are run as they are.

Binding by value is safe only if every parameter is either a stand-in or a
constant: ``messaging.compiled.template`` proves it, as for the send's
claim (``messaging.services.claims``).
tests/messaging/test_inbox_statements.py runs the compiled statements and
the querysets side by side.

The compiled statements' rows are read with psycopg's C timestamp loader:
Django's (its subclass of psycopg's pure-Python one, which sets the
configured time zone) took about 5 µs a timestamp, and an inbox of 200
conversations reads about 1,000 of them. The session's time zone is
Django's (UTC), so both give the same aware datetimes.
"""

import functools
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from django.db import connection
from django.db.models import F, JSONField, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import JSONObject
from psycopg.types.datetime import TimestamptzLoader

from accounts.models import User
from messaging import compiled
from messaging.inbox.rules import main_stream, muted_by, put_away, unread
from messaging.models import Conversation, ConversationParticipant, Message

# Every column of the conversation and of the person, so their instances
# are complete (nothing deferred that a caller could fetch row by row).
CONVERSATION_FIELDS = [field.attname for field in Conversation._meta.concrete_fields]
USER_FIELDS = [field.attname for field in User._meta.concrete_fields]

# The latest main-stream message's columns the inbox shows, by the name of
# the attribute each becomes (``last_message_<name>``).
LAST_MESSAGE_COLUMNS = {
    "seq": "seq",
    "content": "content",
    "html": "content_html",
    "type": "message_type",
    "deleted_at": "deleted_at",
    "hidden_at": "hidden_at",
    "sender_id": "sender_id",
    # A system message's words (messaging.notices), for the preview.
    "notice": "metadata__notice",
}

# What a membership row ends with, after the conversation's columns.
MEMBERSHIP_TAIL = (
    "archived_at",
    # An encrypted conversation's key state, in the same query.
    "conversation__e2e_state__key_version",
    "conversation__e2e_state__rotation_required",
    "unread_count",
    "last_message",
)
# What a member row starts with, before the person's columns.
MEMBER_HEAD = (
    "conversation_id",
    "user_id",
    "role",
    "joined_at",
    "last_read_seq",
    "last_delivered_seq",
)


def memberships(
    user_id: UUID, now: datetime, kind: str | None, *, archived: bool
) -> QuerySet[ConversationParticipant]:
    """The person's active memberships in the inbox (``archived`` False:
    conversations neither archived by their admins nor put away by the
    person) or in the Archived view (True: the rest), of one conversation
    type if ``kind`` is given."""
    found = (
        ConversationParticipant.objects.active()
        .filter(user_id=user_id)
        .alias(muted=muted_by(user_id, now))
        .filter(
            Q(conversation__archived_at__isnull=False) | put_away()
            if archived
            else Q(conversation__archived_at__isnull=True) & ~put_away()
        )
    )
    if kind is not None:
        found = found.filter(conversation__type=kind)
    return found


def membership_rows(
    user_id: UUID, now: datetime, kind: str | None, *, archived: bool
) -> QuerySet[ConversationParticipant, tuple]:
    """Each membership as the conversation's columns (``CONVERSATION_FIELDS``)
    then ``MEMBERSHIP_TAIL``: the person's own archive, the key state, the
    unread count and the preview's JSON object; newest activity first."""
    return (
        memberships(user_id, now, kind, archived=archived)
        .annotate(unread_count=unread(), last_message=_last_message())
        .order_by(
            F("conversation__last_message_at").desc(nulls_last=True), "-conversation__created_at"
        )
        .values_list(
            *(f"conversation__{name}" for name in CONVERSATION_FIELDS),
            *MEMBERSHIP_TAIL,
        )
    )


def member_rows(
    user_id: UUID, now: datetime, kind: str | None, *, archived: bool
) -> QuerySet[ConversationParticipant, tuple]:
    """The active members of the same conversations, as ``MEMBER_HEAD``
    then the person's columns (``USER_FIELDS``), in the order they joined.
    The conversations come as a subquery of the same memberships, not as
    their ids: one parameter for the person instead of one per
    conversation."""
    conversations = memberships(user_id, now, kind, archived=archived).values("conversation_id")
    return (
        ConversationParticipant.objects.active()
        .filter(conversation_id__in=conversations)
        .order_by("joined_at", "id")
        .values_list(*MEMBER_HEAD, *(f"user__{name}" for name in USER_FIELDS))
    )


def _last_message() -> Subquery:
    """The latest main-stream message of the membership's conversation, as
    one JSON object: one backward walk of the (conversation, seq) index
    that stops at the first one, not one walk per column."""
    latest = (
        Message.objects.filter(conversation_id=OuterRef("conversation_id"))
        .filter(main_stream())
        .order_by("-seq")
        .values(json=JSONObject(**LAST_MESSAGE_COLUMNS))[:1]
    )
    return Subquery(latest, output_field=JSONField())


Statement = Callable[..., QuerySet[Any, tuple]]


@dataclass(frozen=True)
class Asked:
    """What one inbox call asks for: the person, the moment, the type (None:
    any) and the view (``archived``); ``compiled`` False runs the querysets
    as Django compiles them."""

    user_id: UUID
    now: datetime
    kind: str | None
    archived: bool
    compiled: bool = True


def rows(statement: Statement, asked: Asked) -> list[tuple]:
    """``statement``'s rows for ``asked``: on PostgreSQL bound into its SQL
    compiled once (unless ``asked.compiled`` is False), else the queryset
    itself. The same tuples either way, converted as Django converts them
    (the JSON columns parsed)."""
    if not asked.compiled or connection.vendor != "postgresql":
        return list(statement(asked.user_id, asked.now, asked.kind, archived=asked.archived))
    template = _template(statement, asked.archived, asked.kind is not None)
    params = template.bound.bind(user_id=asked.user_id, now=asked.now, kind=asked.kind)
    with connection.cursor() as cursor:
        cursor.cursor.adapters.register_loader("timestamptz", TimestamptzLoader)
        cursor.execute(template.bound.sql, params)
        found = cursor.fetchall()
    return template.convert(found) if template.converters else found


# Values no real row, clock or conversation type has: random ids, an
# instant in 1999, and types that are not one.
_FIRST = {
    "user_id": uuid.uuid4(),
    "now": datetime(1999, 12, 31, 23, 59, 58, 123457, UTC),
    "kind": "kind one",
}
_SECOND = {
    "user_id": uuid.uuid4(),
    "now": datetime(1999, 1, 2, 3, 4, 5, 678901, UTC),
    "kind": "kind two",
}


@dataclass(frozen=True)
class _Template:
    bound: compiled.Template
    # Django's converters for the columns that have some (position, the
    # functions, the column's expression), as ``SQLCompiler.apply_converters``.
    converters: tuple[tuple[int, tuple[Callable, ...], Any], ...]

    def convert(self, found: list[tuple]) -> list[tuple]:
        converted = []
        for row in found:
            values = list(row)
            for position, functions, expression in self.converters:
                value = values[position]
                for function in functions:
                    value = function(value, expression, connection)
                values[position] = value
            converted.append(tuple(values))
        return converted


@functools.cache
def _template(statement: Statement, archived: bool, by_kind: bool) -> _Template:
    converters: dict = {}

    def compile_with(stand_ins: Mapping[str, Any]) -> tuple[str, Sequence]:
        queryset = statement(
            stand_ins["user_id"], stand_ins["now"], stand_ins.get("kind"), archived=archived
        )
        compiler = queryset.query.get_compiler(connection=connection)
        sql, params = compiler.as_sql()
        if compiler.has_extra_select:
            raise ValueError("An inbox statement selects columns beyond its values_list.")
        columns = [selected[0] for selected in compiler.select[: compiler.col_count]]
        converters.update(compiler.get_converters(columns))
        return sql, params

    # The type is a value of the statement only when it filters on one.
    names = ("user_id", "now", "kind") if by_kind else ("user_id", "now")
    bound = compiled.template(
        compile_with,
        {name: _FIRST[name] for name in names},
        {name: _SECOND[name] for name in names},
        what=f"the inbox's {statement.__name__}",
    )
    return _Template(
        bound,
        tuple(
            (position, tuple(functions), expression)
            for position, (functions, expression) in converters.items()
        ),
    )
