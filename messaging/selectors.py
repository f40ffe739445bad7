"""Every messaging read. Reads that need access ask ``messaging.policy`` and
record refusals in the audit log. Arguments are typed values, parsed at the
edge (``messaging.validation``)."""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from uuid import UUID

from django.db.models import (
    Count,
    Exists,
    F,
    JSONField,
    OuterRef,
    Prefetch,
    Q,
    Subquery,
    Sum,
    Value,
    prefetch_related_objects,
)
from django.db.models.expressions import CombinedExpression
from django.db.models.functions import Coalesce, JSONObject
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from accounts.models import User
from messaging import audit, limits, policy
from messaging.e2e.models import EncryptedConversation
from messaging.e2e.payloads import cache_e2e_state
from messaging.errors import InvalidInput, NotFound
from messaging.models import (
    Conversation,
    ConversationParticipant,
    ConversationType,
    Message,
    UserPresence,
)
from messaging.support.models import SupportRequest
from messaging.threads.payloads import with_extras
from notifications.models import ConversationMute


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

    @property
    def conversation_id(self) -> UUID:
        return self.conversation.pk


# Every column of the conversation, so its instance is complete (nothing
# deferred that a caller could fetch row by row).
_CONVERSATION_FIELDS = [field.attname for field in Conversation._meta.concrete_fields]


def inbox(user: User, *, kind: str | None = None, archived: bool = False) -> list[InboxRow]:
    """The user's conversations, newest activity first, each with its unread
    count, its last message's text, sender and type, and its active members.

    Unread and the last message are the main stream's: a thread-only reply
    (``Message.in_main_stream`` false) has its thread's own unread state
    (``ThreadFollow.last_read_seq``), so it neither raises the badge nor
    becomes the preview (``last_message_seq`` is the preview's seq).

    ``archived`` False is the inbox: conversations neither archived by
    their admins nor put away by the user (``put_away``); True is the
    Archived view, the rest.

    Three queries (four with a support conversation): the memberships with
    their conversations, counts and previews; the members; the people. Rows
    come as tuples and become one model instance per conversation and per
    person, not per membership."""
    if kind and kind not in ConversationType.values:
        raise InvalidInput(_("Unknown conversation type %(type)s.") % {"type": repr(kind)})
    memberships = (
        ConversationParticipant.objects.active()
        .filter(user=user)
        .alias(muted=_muted_by(user))
        .filter(
            Q(conversation__archived_at__isnull=False) | _put_away()
            if archived
            else Q(conversation__archived_at__isnull=True) & ~_put_away()
        )
    )
    if kind:
        memberships = memberships.filter(conversation__type=kind)
    found = (
        memberships.annotate(unread_count=_unread(), last_message=_last_message())
        .order_by(
            F("conversation__last_message_at").desc(nulls_last=True), "-conversation__created_at"
        )
        .values_list(
            *(f"conversation__{name}" for name in _CONVERSATION_FIELDS),
            "archived_at",
            "unread_count",
            "last_message",
            # An encrypted conversation's key state, in the same query.
            "conversation__e2e_state__key_version",
            "conversation__e2e_state__rotation_required",
        )
    )
    width = len(_CONVERSATION_FIELDS)
    rows = []
    members_of: dict[UUID, list[InboxMember]] = {}
    for values in found:
        conversation = Conversation.from_db(found.db, _CONVERSATION_FIELDS, values[:width])
        archived_at, unread_count, last, key_version, rotation_required = values[width:]
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
    _load_members(members_of)
    _load_support_requests([row.conversation for row in rows])
    return rows


def _load_members(members_of: dict[UUID, list[InboxMember]]) -> None:
    """Fill each conversation's list with its active members, in the order
    they joined; each person is one ``User`` instance shared by every list."""
    if not members_of:
        return
    found = (
        ConversationParticipant.objects.active()
        .filter(conversation_id__in=list(members_of))
        .order_by("joined_at", "id")
        .values_list(
            "conversation_id",
            "user_id",
            "role",
            "joined_at",
            "last_read_seq",
            "last_delivered_seq",
        )
    )
    rows = list(found)
    users = User.objects.in_bulk({row[1] for row in rows})
    for conversation_id, user_id, role, joined_at, last_read, last_delivered in rows:
        members_of[conversation_id].append(
            InboxMember(users[user_id], user_id, role, joined_at, last_read, last_delivered)
        )


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


# The latest main-stream message's columns the inbox shows, by the name of
# the attribute each becomes (``last_message_<name>``).
_LAST_MESSAGE_COLUMNS = {
    "seq": "seq",
    "content": "content",
    "html": "content_html",
    "type": "message_type",
    "deleted_at": "deleted_at",
    "hidden_at": "hidden_at",
    "sender_id": "sender_id",
}


def _last_message() -> Subquery:
    """The latest main-stream message of the membership's conversation, as
    one JSON object: one backward walk of the (conversation, seq) index
    that stops at the first one, not one walk per column."""
    latest = (
        Message.objects.filter(conversation_id=OuterRef("conversation_id"))
        .filter(main_stream())
        .order_by("-seq")
        .values(json=JSONObject(**_LAST_MESSAGE_COLUMNS))[:1]
    )
    return Subquery(latest, output_field=JSONField())


def _preview(
    last: dict,
) -> tuple[
    int | None, str | None, str | None, str | None, datetime | None, datetime | None, UUID | None
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


def main_stream() -> Q:
    """Messages shown in the conversation's main stream: not a thread reply,
    or one also sent to the conversation (``Message.in_main_stream``)."""
    return Q(parent__isnull=True) | Q(also_to_conversation=True)


def _thread_only() -> Q:
    return Q(parent__isnull=False, also_to_conversation=False)


def _unread() -> CombinedExpression:
    """A membership's unread count in its conversation's main stream: the
    seqs above the read cursor less the thread-only replies among them.

    The count of those replies is an index-only scan of
    ``message_thread_only_idx`` (conversation, seq; thread-only replies
    alone), so its cost is the number of thread-only replies above the
    cursor, not the conversation's size or the unread depth; the inbox
    stays one query."""
    thread_only_above = Subquery(
        Message.objects.filter(
            conversation_id=OuterRef("conversation_id"), seq__gt=OuterRef("last_read_seq")
        )
        .filter(_thread_only())
        .order_by()
        .values("conversation_id")
        .annotate(n=Count("*"))
        .values("n")[:1]
    )
    return F("conversation__last_seq") - F("last_read_seq") - Coalesce(thread_only_above, Value(0))


def unread_in(membership: ConversationParticipant) -> int:
    """``membership``'s unread count in the main stream (the inbox's rule,
    asked of one membership); never below 0."""
    count = (
        ConversationParticipant.objects.filter(pk=membership.pk)
        .annotate(unread=_unread())
        .values_list("unread", flat=True)
        .first()
    )
    return max(count or 0, 0)


def _muted_by(user: User) -> Exists:
    """The membership's conversation is muted by ``user`` now."""
    return Exists(
        ConversationMute.objects.filter(
            user_id=user.pk, conversation_id=OuterRef("conversation_id")
        ).filter(Q(until__isnull=True) | Q(until__gt=timezone.now()))
    )


def _put_away() -> Q:
    """Archived by the member for themselves, and still away: nothing has
    arrived since they archived it, or they have it muted (annotation
    ``muted``). A main-stream message newer than the archiving brings it
    back; a thread-only reply does not (it reaches the thread's followers
    through their notifications and the thread's own unread)."""
    newer_in_main_stream = Exists(
        Message.objects.filter(
            conversation_id=OuterRef("conversation_id"), sent_at__gt=OuterRef("archived_at")
        ).filter(main_stream())
    )
    return Q(archived_at__isnull=False) & (
        Q(conversation__last_message_at__isnull=True)
        | Q(conversation__last_message_at__lte=F("archived_at"))
        | Q(muted=True)
        | ~Q(newer_in_main_stream)
    )


def is_put_away(membership: ConversationParticipant) -> bool:
    """Whether the member's own archive keeps the conversation out of their
    inbox now (the inbox's rule, asked of one membership)."""
    if membership.archived_at is None:
        return False
    return (
        ConversationParticipant.objects.filter(pk=membership.pk)
        .alias(muted=_muted_by(membership.user))
        .filter(_put_away())
        .exists()
    )


def unread_total(user: User) -> int:
    """Unread messages over the user's active, unarchived conversations (the
    inbox's per-conversation rule: thread-only replies do not count): one
    aggregate, no rows fetched."""
    return (
        ConversationParticipant.objects.active()
        .filter(user=user, conversation__archived_at__isnull=True)
        .annotate(unread=_unread())
        .aggregate(total=Sum("unread"))["total"]
        or 0
    )


def conversation_ids_for(user: User) -> list[UUID]:
    """The conversations whose live events the user's sockets receive."""
    return list(
        ConversationParticipant.objects.active()
        .filter(user=user)
        .values_list("conversation_id", flat=True)
    )


def membership_for(
    user: User, conversation_id: UUID, *, attempted: str, missing: str | None = None
) -> ConversationParticipant:
    """The user's active membership, once ``policy.check_read`` allows it;
    else NotFound, or NotVisible (recorded): the same answer, worded as
    ``missing`` (what the caller was asked for; default "No such
    conversation.")."""
    membership = (
        ConversationParticipant.objects.active()
        .select_related("conversation__e2e_state")
        .filter(user=user, conversation_id=conversation_id)
        .first()
    )
    if membership is not None and policy.may_read(
        user, membership.conversation, membership=membership
    ):
        return membership
    conversation = Conversation.objects.filter(pk=conversation_id).first()
    if conversation is None:
        raise NotFound(missing or _("No such conversation."))
    with audit.denials_recorded(actor=user, attempted=attempted, conversation_id=conversation_id):
        policy.check_read(user, conversation, membership=membership, missing=missing)
        raise AssertionError("unreachable: check_read refused")  # pragma: no cover


def member_ids(conversation_id: UUID) -> list[UUID]:
    return list(
        ConversationParticipant.objects.active()
        .filter(conversation_id=conversation_id)
        .values_list("user_id", flat=True)
    )


def participants(conversation: Conversation) -> list[ConversationParticipant]:
    return list(conversation.participants.active().select_related("user").order_by("joined_at"))


@dataclass(frozen=True)
class HistoryPage:
    messages: list[Message]
    has_more: bool


def history_page(
    *,
    user: User,
    conversation_id: UUID,
    after_seq: int | None = None,
    before_seq: int | None = None,
    limit: int | None = None,
) -> HistoryPage:
    """One page of a conversation, oldest first, by keyset on seq.

    ``after_seq`` pages forward (resume, gap fill); ``before_seq`` pages back
    (scrolling up); with neither, the latest page; never both
    (``validation.clean_history_cursors``). ``limit`` is a page size from
    ``validation.clean_page_size``; None is the default size. ``has_more``
    says whether messages lie beyond the page in the direction of travel
    (older ones for ``before_seq`` and the latest page, newer ones for
    ``after_seq``).
    """
    membership = membership_for(user, conversation_id, attempted="history")
    if limit is None:
        limit = limits.history_page_size()
    messages = with_extras(
        Message.objects.filter(conversation_id=membership.conversation_id)
        .select_related("sender")
        .prefetch_related("attachments")
    )
    # One row more than asked tells whether there is more.
    if after_seq is not None:
        page = list(messages.filter(seq__gt=after_seq).order_by("seq")[: limit + 1])
        return HistoryPage(page[:limit], has_more=len(page) > limit)
    if before_seq is not None:
        messages = messages.filter(seq__lt=before_seq)
    page = list(messages.order_by("-seq")[: limit + 1])
    has_more = len(page) > limit
    page = page[:limit]
    page.reverse()
    return HistoryPage(page, has_more=has_more)


def history(
    *,
    user: User,
    conversation_id: UUID,
    after_seq: int | None = None,
    before_seq: int | None = None,
    limit: int | None = None,
) -> list[Message]:
    """The messages of ``history_page`` (same arguments)."""
    return history_page(
        user=user,
        conversation_id=conversation_id,
        after_seq=after_seq,
        before_seq=before_seq,
        limit=limit,
    ).messages


def message_for(user: User, message_id: UUID) -> Message:
    """A message of a conversation ``user`` may read."""
    try:
        message = with_extras(
            Message.objects.select_related("sender").prefetch_related("attachments")
        ).get(pk=message_id)
    except Message.DoesNotExist:
        raise NotFound(_("No such message.")) from None
    membership_for(
        user, message.conversation_id, attempted="message.read", missing=_("No such message.")
    )
    return message


def socket_conversations(user: User) -> list[dict]:
    """What a socket needs at connect: each conversation's id, latest seq,
    the user's read cursor and unread count (the inbox's: main stream only,
    so not ``last_seq - last_read_seq`` once thread-only replies came)."""
    return [
        {"id": str(cid), "last_seq": last_seq, "last_read_seq": last_read, "unread": max(unread, 0)}
        for cid, last_seq, last_read, unread in ConversationParticipant.objects.active()
        .filter(user=user)
        .annotate(unread=_unread())
        .values_list("conversation_id", "conversation__last_seq", "last_read_seq", "unread")
    ]


# --- REST API reads ---------------------------------------------------------------


def last_messages(conversation_ids: Iterable[UUID]) -> dict[UUID, Message]:
    """The latest main-stream message of each conversation (the inbox's
    preview: a thread-only reply is not one), by conversation id."""
    latest = (
        Message.objects.filter(conversation_id=OuterRef("pk"))
        .filter(main_stream())
        .order_by("-seq")
        .values("pk")[:1]
    )
    latest_ids = Conversation.objects.filter(pk__in=list(conversation_ids)).values(
        last_id=Subquery(latest)
    )
    # With what the payload reads (threads, reactions, pins, previews), so
    # a page of conversations costs a fixed number of queries, not some per row.
    return {
        message.conversation_id: message
        for message in with_extras(
            Message.objects.filter(pk__in=latest_ids)
            .select_related("sender")
            .prefetch_related("attachments")
        )
    }


def users_by_ids(user_ids: Iterable[UUID]) -> list[User]:
    """The users with these ids, each once, in the order given; InvalidInput
    names any id that matches nobody."""
    wanted = list(dict.fromkeys(user_ids))
    found = {user.pk: user for user in User.objects.filter(pk__in=wanted)}
    missing = [str(pk) for pk in wanted if pk not in found]
    if missing:
        raise InvalidInput(_("No such user: %(ids)s") % {"ids": ", ".join(missing)})
    return [found[pk] for pk in wanted]


def direct_partners(user: User) -> dict[UUID, UUID]:
    """``{other person's id: conversation id}`` for the user's direct conversations."""
    return dict(
        ConversationParticipant.objects.active()
        .filter(
            conversation__type=ConversationType.DIRECT,
            conversation__participants__user=user,
            conversation__participants__left_at__isnull=True,
            # The plain one: an encrypted direct conversation is a second one.
            conversation__e2e_state__isnull=True,
        )
        .exclude(user=user)
        .values_list("user_id", "conversation_id")
    )


def stored_presence(user_ids: Iterable[UUID]) -> dict[UUID, str]:
    """The last status written to ``user_presence`` for each id that has one
    (pages render it first; the socket brings the live one)."""
    return dict(
        UserPresence.objects.filter(user_id__in=list(user_ids)).values_list("user_id", "status")
    )


def user_by_id(user_id: UUID) -> User:
    try:
        return User.objects.get(pk=user_id)
    except User.DoesNotExist:
        raise NotFound(_("No such user.")) from None


def presence_visible_ids(user: User, user_ids: Iterable[UUID]) -> list[str]:
    """Which of ``user_ids`` ``user`` may see the presence of
    (``policy.presence_visible_users``), as text, each once, order kept."""
    wanted = list(dict.fromkeys(user_ids))
    visible = set(
        policy.presence_visible_users(user).filter(pk__in=wanted).values_list("pk", flat=True)
    )
    return [str(pk) for pk in wanted if pk in visible]
