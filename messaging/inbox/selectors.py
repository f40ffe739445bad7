"""The inbox's rows: the person's conversations with their unread counts,
previews and active members (``messaging.selectors.inbox``)."""

from dataclasses import dataclass
from datetime import UTC, datetime
from uuid import UUID

from django.db import connection
from django.db.models import Prefetch, prefetch_related_objects
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from accounts.models import User
from messaging.e2e.models import EncryptedConversation
from messaging.e2e.payloads import cache_e2e_state
from messaging.errors import InvalidInput
from messaging.inbox import statements
from messaging.models import Conversation, ConversationType
from messaging.support.models import SupportRequest


@dataclass(frozen=True, slots=True)
class InboxMember:
    """An active member of a conversation in the inbox, with what its
    callers read of one: the participant fields of the conversation payload
    (``events.participant_payload``) and the person, loaded once however
    many of the conversations they are in."""

    user: User
    user_id: UUID
    role: str
    joined_at: datetime
    last_read_seq: int
    last_delivered_seq: int


@dataclass(frozen=True, slots=True)
class InboxRow:
    """One of the user's conversations as the inbox shows it.

    ``conversation`` is the model instance (its support request loaded for
    a support conversation) with ``active_participants`` set to ``members``
    (what ``events.conversation_payload`` reads); ``archived_at`` is the
    user's own archive (``put_away``); ``unread_count`` is the main
    stream's (``unread_in``'s rule, unclamped) and the ``last_message_*``
    fields are the preview's, None when the conversation has no main-stream
    message."""

    conversation: Conversation
    members: list[InboxMember]
    archived_at: datetime | None
    unread_count: int
    last_message_seq: int | None
    last_message_content: str | None
    last_message_html: str | None
    last_message_type: str | None
    last_message_deleted_at: datetime | None
    last_message_hidden_at: datetime | None
    last_message_sender_id: UUID | None
    last_message_notice: dict | None

    @property
    def conversation_id(self) -> UUID:
        return self.conversation.pk


def inbox(
    user: User, *, kind: str | None = None, archived: bool = False, compiled: bool = True
) -> list[InboxRow]:
    """The user's conversations, newest activity first, each with its unread
    count, its last message's text, sender and type, and its active members.

    Unread and the last message are the main stream's: a thread-only reply
    (``Message.in_main_stream`` false) has its thread's own unread state
    (``ThreadFollow.last_read_seq``), so it neither raises the badge nor
    becomes the preview (``last_message_seq`` is the preview's seq).

    ``archived`` False is the inbox: conversations neither archived by
    their admins nor put away by the user (``put_away``); True is the
    Archived view, the rest.

    Two statements (three with a support conversation, none but the first
    when there is no conversation): the memberships with their
    conversations, counts and previews; the members with their people.
    Rows come as tuples and become one model instance per conversation and
    per person, not per membership. ``compiled`` False runs the querysets
    as Django compiles them, not the statements compiled once
    (``statements``): the same rows, the reference the tests compare with."""
    if kind and kind not in ConversationType.values:
        raise InvalidInput(_("Unknown conversation type %(type)s.") % {"type": repr(kind)})
    asked = statements.Asked(user.pk, timezone.now(), kind or None, archived, compiled)
    width = len(statements.CONVERSATION_FIELDS)
    database = connection.alias  # read once: the connection is a per-context proxy
    rows = []
    members_of: dict[UUID, list[InboxMember]] = {}
    for values_of_row in statements.rows(statements.membership_rows, asked):
        conversation = Conversation.from_db(
            database, statements.CONVERSATION_FIELDS, values_of_row[:width]
        )
        archived_at, key_version, rotation_required, unread_count, last = values_of_row[width:]
        cache_e2e_state(
            conversation,
            None
            if key_version is None
            else EncryptedConversation(
                conversation=conversation,
                key_version=key_version,
                rotation_required=rotation_required,
            ),
        )
        members = members_of[conversation.pk] = []
        # Read by ``events.conversation_payload`` (the API) as its members.
        conversation.active_participants = members  # type: ignore[attr-defined]
        rows.append(
            InboxRow(conversation, members, archived_at, unread_count, *_preview(last or {}))
        )
    if rows:
        _load_members(members_of, statements.rows(statements.member_rows, asked), database)
        _load_support_requests([row.conversation for row in rows])
    return rows


def _load_members(
    members_of: dict[UUID, list[InboxMember]], found: list[tuple], database: str
) -> None:
    """Fill each conversation's list with its active members, in the order
    they joined; each person is one ``User`` instance shared by every list.

    The members' statement finds the conversations again by the same rules:
    one that came into the inbox between the two statements is not in
    ``members_of`` and is left out."""
    head = len(statements.MEMBER_HEAD)
    users: dict[UUID, User] = {}
    for row in found:
        conversation_id, user_id, role, joined_at, last_read, last_delivered = row[:head]
        members = members_of.get(conversation_id)
        if members is None:
            continue
        user = users.get(user_id)
        if user is None:
            user = users[user_id] = User.from_db(database, statements.USER_FIELDS, row[head:])
        members.append(InboxMember(user, user_id, role, joined_at, last_read, last_delivered))


def _load_support_requests(conversations: list[Conversation]) -> None:
    """A support conversation's payload and row show its request, with its
    category, requester and assignee: one query for all of them, none when
    the inbox has no support conversation."""
    support = [c for c in conversations if c.type == ConversationType.SUPPORT]
    if support:
        prefetch_related_objects(
            support,
            Prefetch(
                "support_request",
                queryset=SupportRequest.objects.select_related("category", "requester", "assignee"),
            ),
        )


def _preview(
    last: dict,
) -> tuple[
    int | None,
    str | None,
    str | None,
    str | None,
    datetime | None,
    datetime | None,
    UUID | None,
    dict | None,
]:
    """The ``last_message`` object as the row's typed preview fields, in
    ``InboxRow``'s order (all None for an empty object)."""
    sender_id = last.get("sender_id")
    return (
        last.get("seq"),
        last.get("content"),
        last.get("html"),
        last.get("type"),
        _as_datetime(last.get("deleted_at")),
        _as_datetime(last.get("hidden_at")),
        UUID(sender_id) if sender_id else None,
        last.get("notice"),
    )


def _as_datetime(value: str | None) -> datetime | None:
    """A timestamp as JSON carries it: ISO with its offset (PostgreSQL), or
    naive UTC (SQLite stores it so)."""
    if value is None:
        return None
    parsed = parse_datetime(value)
    if parsed is not None and timezone.is_naive(parsed):
        parsed = timezone.make_aware(parsed, UTC)
    return parsed
