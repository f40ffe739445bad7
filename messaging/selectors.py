"""Every messaging read. Reads that need access ask ``messaging.policy`` and
record refusals in the audit log. Arguments are typed values, parsed at the
edge (``messaging.validation``)."""

from collections.abc import Iterable
from dataclasses import dataclass
from uuid import UUID

from django.db.models import OuterRef, QuerySet, Subquery, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from messaging import audit, limits, policy
from messaging.errors import InvalidInput, NotFound
from messaging.inbox.rules import main_stream, muted_by, put_away, unread

# The inbox's rows (``InboxRow``), read from here like every messaging read.
from messaging.inbox.selectors import inbox as inbox
from messaging.models import (
    Conversation,
    ConversationParticipant,
    ConversationType,
    Message,
    UserPresence,
)
from messaging.threads.payloads import with_extras


def one_page(rows: QuerySet, *, limit: int, offset: int) -> tuple[list, bool]:
    """``limit`` rows of an ordered query from ``offset``, and whether more
    follow (one row more is read to tell)."""
    page = list(rows[offset : offset + limit + 1])
    return page[:limit], len(page) > limit


def unread_in(membership: ConversationParticipant) -> int:
    """``membership``'s unread count in the main stream (the inbox's rule,
    asked of one membership); never below 0."""
    count = (
        ConversationParticipant.objects.filter(pk=membership.pk)
        .annotate(unread=unread())
        .values_list("unread", flat=True)
        .first()
    )
    return max(count or 0, 0)


def is_put_away(membership: ConversationParticipant) -> bool:
    """Whether the member's own archive keeps the conversation out of their
    inbox now (the inbox's rule, asked of one membership)."""
    if membership.archived_at is None:
        return False
    return (
        ConversationParticipant.objects.filter(pk=membership.pk)
        .alias(muted=muted_by(membership.user_id, timezone.now()))
        .filter(put_away())
        .exists()
    )


def unread_total(user: User) -> int:
    """Unread messages over the user's active, unarchived conversations (the
    inbox's per-conversation rule: thread-only replies do not count): one
    aggregate, no rows fetched."""
    return (
        ConversationParticipant.objects.active()
        .filter(user=user, conversation__archived_at__isnull=True)
        .annotate(unread=unread())
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


def member_of(user: User, conversation_ids: Iterable[UUID]) -> set[UUID]:
    """Of ``conversation_ids``, those ``user`` is an active member of now."""
    return set(
        ConversationParticipant.objects.active()
        .filter(user=user, conversation_id__in=list(conversation_ids))
        .values_list("conversation_id", flat=True)
    )


def left_conversation_name() -> str:
    """What a conversation someone is no longer in is called for them (on
    their reminders and scheduled messages): its name now, or who is in it
    now, is not theirs to read."""
    return _("A conversation you left")


def name_from_title_or_people(conversation: Conversation, others: list[str]) -> str:
    """What a conversation is called for someone: its title, else "Support"
    for an untitled support conversation, else up to three of ``others``
    (the other members' names, in order) and how many more."""
    if conversation.title:
        return conversation.title
    if conversation.type == ConversationType.SUPPORT:
        return _("Support")
    if not others:
        return _("Just you")
    extra = f" +{len(others) - 3}" if len(others) > 3 else ""
    return ", ".join(others[:3]) + extra


def conversation_names(
    user: User, conversations: list[Conversation], *, with_members_who_left: bool = False
) -> dict[UUID, str]:
    """What ``user`` calls each conversation (``name_from_title_or_people``),
    in two queries whatever the count. For one ``user`` is no longer in,
    ``left_conversation_name``: its name, or who is in it now, is not theirs
    to read. ``with_members_who_left`` names the people who left too (for
    what outlives a membership, such as a scheduled message)."""
    names: dict[UUID, str] = {}
    current = member_of(user, [c.pk for c in conversations])
    named = []
    for conversation in conversations:
        if conversation.pk in current:
            named.append(conversation)
        else:
            names[conversation.pk] = left_conversation_name()
    untitled = [c.pk for c in named if not c.title and c.type != ConversationType.SUPPORT]
    others: dict[UUID, list[str]] = {}
    if untitled:
        rows = ConversationParticipant.objects.all()
        if not with_members_who_left:
            rows = rows.active()
        rows = (
            rows.filter(conversation_id__in=untitled)
            .exclude(user_id=user.pk)
            .select_related("user")
            .order_by("joined_at")
        )
        for row in rows:
            others.setdefault(row.conversation_id, []).append(row.user.display_name)
    for conversation in named:
        names[conversation.pk] = name_from_title_or_people(
            conversation, others.get(conversation.pk, [])
        )
    return names


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
        .annotate(unread=unread())
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
