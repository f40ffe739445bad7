"""Every messaging read. Reads that need membership check it here and record
refusals in the audit log."""

from dataclasses import dataclass
from uuid import UUID

from django.conf import settings
from django.db.models import F, OuterRef, Prefetch, Q, QuerySet, Subquery, Sum, UUIDField

from accounts.models import Role, User
from messaging import audit
from messaging.errors import AccessDenied, InvalidInput, NotFound
from messaging.models import (
    Conversation,
    ConversationParticipant,
    ConversationType,
    Message,
    UserPresence,
)
from messaging.services import clean_seq, parse_uuid

LIMITS = settings.PARLEY


def inbox(
    user: User, *, kind: str | None = None, archived: bool = False
) -> QuerySet[ConversationParticipant]:
    """The user's memberships, newest activity first, each annotated with
    ``unread_count`` and the last message's text, sender and type; the
    conversation and all its active members come along."""
    last_message = Message.objects.filter(
        conversation_id=OuterRef("conversation_id"), seq=OuterRef("conversation__last_seq")
    )
    memberships = (
        ConversationParticipant.objects.active()
        .filter(user=user, conversation__archived_at__isnull=not archived)
        .select_related("conversation")
        .annotate(
            unread_count=F("conversation__last_seq") - F("last_read_seq"),
            last_message_content=Subquery(last_message.values("content")[:1]),
            last_message_type=Subquery(last_message.values("message_type")[:1]),
            last_message_deleted_at=Subquery(last_message.values("deleted_at")[:1]),
            # Typed so SQLite, which stores UUIDs as text, returns a UUID too.
            last_message_sender_id=Subquery(
                last_message.values("sender_id")[:1], output_field=UUIDField()
            ),
        )
        .prefetch_related(
            Prefetch(
                "conversation__participants",
                queryset=ConversationParticipant.objects.active().select_related("user"),
                to_attr="active_participants",
            )
        )
        .order_by(
            F("conversation__last_message_at").desc(nulls_last=True), "-conversation__created_at"
        )
    )
    if kind:
        if kind not in ConversationType.values:
            raise InvalidInput(f"Unknown conversation type {kind!r}.")
        memberships = memberships.filter(conversation__type=kind)
    return memberships


def unread_total(user: User) -> int:
    """Unread messages over the user's active, unarchived conversations: one
    aggregate over the cursors, no rows fetched."""
    return (
        ConversationParticipant.objects.active()
        .filter(user=user, conversation__archived_at__isnull=True)
        .aggregate(total=Sum(F("conversation__last_seq") - F("last_read_seq")))["total"]
        or 0
    )


def conversation_ids_for(user: User) -> list[UUID]:
    """The conversations whose live events the user's sockets receive."""
    return list(
        ConversationParticipant.objects.active()
        .filter(user=user)
        .values_list("conversation_id", flat=True)
    )


def membership_for(user: User, conversation_id, *, attempted: str) -> ConversationParticipant:
    """The user's active membership, or NotFound / AccessDenied (recorded)."""
    conversation_id = parse_uuid(conversation_id, what="conversation_id")
    membership = (
        ConversationParticipant.objects.active()
        .select_related("conversation")
        .filter(user=user, conversation_id=conversation_id)
        .first()
    )
    if membership is None:
        if not Conversation.objects.filter(pk=conversation_id).exists():
            raise NotFound("No such conversation.")
        with audit.denials_recorded(
            actor=user, attempted=attempted, conversation_id=conversation_id
        ):
            raise AccessDenied("You are not a member of this conversation.")
    return membership


def member_ids(conversation_id) -> list[UUID]:
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
    conversation_id,
    after_seq: int | None = None,
    before_seq: int | None = None,
    limit: int | None = None,
) -> HistoryPage:
    """One page of a conversation, oldest first, by keyset on seq.

    ``after_seq`` pages forward (resume, gap fill); ``before_seq`` pages back
    (scrolling up); with neither, the latest page. ``has_more`` says whether
    messages lie beyond the page in the direction of travel (older ones for
    ``before_seq`` and the latest page, newer ones for ``after_seq``).
    """
    membership = membership_for(user, conversation_id, attempted="history")
    limit = clean_page_size(limit)
    if after_seq is not None and before_seq is not None:
        raise InvalidInput("Give after_seq or before_seq, not both.")
    messages = Message.objects.filter(conversation_id=membership.conversation_id).select_related(
        "sender"
    )
    # One row more than asked tells whether there is more.
    if after_seq is not None:
        page = list(messages.filter(seq__gt=clean_seq(after_seq)).order_by("seq")[: limit + 1])
        return HistoryPage(page[:limit], has_more=len(page) > limit)
    if before_seq is not None:
        messages = messages.filter(seq__lt=clean_seq(before_seq))
    page = list(messages.order_by("-seq")[: limit + 1])
    has_more = len(page) > limit
    page = page[:limit]
    page.reverse()
    return HistoryPage(page, has_more=has_more)


def history(**kwargs) -> list[Message]:
    """The messages of ``history_page`` (same arguments)."""
    return history_page(**kwargs).messages


def clean_page_size(limit) -> int:
    if limit is None:
        return LIMITS["HISTORY_PAGE_SIZE"]
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
        raise InvalidInput("limit must be a whole number, 1 or more.")
    return min(limit, LIMITS["HISTORY_MAX_PAGE_SIZE"])


def message_for(user: User, message_id) -> Message:
    message_id = parse_uuid(message_id, what="message_id")
    try:
        message = Message.objects.select_related("sender").get(pk=message_id)
    except Message.DoesNotExist:
        raise NotFound("No such message.") from None
    membership_for(user, message.conversation_id, attempted="message.read")
    return message


def users_user_may_message(user: User) -> QuerySet[User]:
    """People ``user`` may start a direct conversation with (the policy's
    rule, as a query). Nobody, for a deactivated user, as in the policy."""
    if not user.is_active:
        return User.objects.none()
    people = User.objects.filter(is_active=True).exclude(pk=user.pk)
    if user.role == Role.ADMIN:
        return people
    if user.role == Role.MENTOR:
        return people.filter(
            Q(role__in=[Role.ADMIN, Role.MENTOR]) | Q(role=Role.STUDENT, mentors__mentor=user)
        ).distinct()
    return people.filter(Q(role=Role.ADMIN) | Q(role=Role.MENTOR, mentees__student=user)).distinct()


def socket_conversations(user: User) -> list[dict]:
    """What a socket needs at connect: each conversation's id, latest seq and
    the user's read cursor."""
    return [
        {"id": str(cid), "last_seq": last_seq, "last_read_seq": last_read}
        for cid, last_seq, last_read in ConversationParticipant.objects.active()
        .filter(user=user)
        .values_list("conversation_id", "conversation__last_seq", "last_read_seq")
    ]


# --- REST API reads ---------------------------------------------------------------


def last_messages(conversation_ids) -> dict[UUID, Message]:
    """The latest message of each conversation, by conversation id."""
    return {
        message.conversation_id: message
        for message in Message.objects.filter(
            conversation_id__in=list(conversation_ids), seq=F("conversation__last_seq")
        ).select_related("sender")
    }


def users_by_ids(user_ids) -> list[User]:
    """The users with these ids, each once, in the order given; InvalidInput
    names any id that matches nobody."""
    wanted = list(dict.fromkeys(parse_uuid(pk, what="user id") for pk in user_ids))
    found = {user.pk: user for user in User.objects.filter(pk__in=wanted)}
    missing = [str(pk) for pk in wanted if pk not in found]
    if missing:
        raise InvalidInput("No such user: " + ", ".join(missing))
    return [found[pk] for pk in wanted]


def direct_partners(user: User) -> dict[UUID, UUID]:
    """``{other person's id: conversation id}`` for the user's direct conversations."""
    return dict(
        ConversationParticipant.objects.active()
        .filter(
            conversation__type=ConversationType.DIRECT,
            conversation__participants__user=user,
            conversation__participants__left_at__isnull=True,
        )
        .exclude(user=user)
        .values_list("user_id", "conversation_id")
    )


def stored_presence(user_ids) -> dict[UUID, str]:
    """The last status written to ``user_presence`` for each id that has one
    (pages render it first; the socket brings the live one)."""
    return dict(
        UserPresence.objects.filter(user_id__in=list(user_ids)).values_list("user_id", "status")
    )


def user_by_id(user_id) -> User:
    try:
        return User.objects.get(pk=parse_uuid(user_id, what="user id"))
    except User.DoesNotExist:
        raise NotFound("No such user.") from None


def presence_visible_ids(user: User, user_ids) -> list[str]:
    """Which of ``user_ids`` ``user`` may see the presence of: themselves,
    people who share an active conversation with them, and people they may
    message. Order kept."""
    wanted = list(dict.fromkeys(parse_uuid(pk, what="user id") for pk in user_ids))
    shared = (
        ConversationParticipant.objects.active()
        .filter(
            user_id__in=wanted,
            conversation_id__in=ConversationParticipant.objects.active()
            .filter(user=user)
            .values("conversation_id"),
        )
        .values_list("user_id", flat=True)
    )
    visible = {user.pk, *shared}
    visible.update(users_user_may_message(user).filter(pk__in=wanted).values_list("pk", flat=True))
    return [str(pk) for pk in wanted if pk in visible]
