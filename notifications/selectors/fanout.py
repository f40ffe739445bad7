"""Reads of the fan-out: everything it needs about a message's audience, in
a constant number of queries whatever the conversation's size."""

from collections.abc import Iterable
from dataclasses import dataclass, field
from uuid import UUID

from accounts.models import Role, User
from messaging.models import (
    Conversation,
    ConversationParticipant,
    Message,
    MessageType,
    ThreadFollow,
)
from notifications.models import ConversationMute, Kind, Notification, NotificationPreference


@dataclass
class Audience:
    """Who may hear of something in one conversation, with their choices."""

    conversation: Conversation | None  # None: a notification about no conversation
    user_ids: list[UUID]
    preferences: dict[UUID, NotificationPreference] = field(default_factory=dict)
    mutes: dict[UUID, ConversationMute] = field(default_factory=dict)

    def preference(self, user_id: UUID) -> NotificationPreference:
        """The stored row, or the defaults (unsaved) for a person who never chose."""
        stored = self.preferences.get(user_id)
        return stored if stored is not None else NotificationPreference(user_id=user_id)


def languages_of(user_ids: list[UUID]) -> dict[UUID, str]:
    """The language each person chose on their profile ("" for none)."""
    return dict(User.objects.filter(pk__in=user_ids).values_list("pk", "language"))


def _choices(conversation: Conversation, user_ids: list[UUID]) -> Audience:
    """Preferences and mutes of ``user_ids``: two queries."""
    return Audience(
        conversation=conversation,
        user_ids=user_ids,
        preferences={
            p.user_id: p for p in NotificationPreference.objects.filter(user_id__in=user_ids)
        },
        mutes={
            m.user_id: m
            for m in ConversationMute.objects.filter(
                conversation_id=conversation.pk, user_id__in=user_ids
            )
        },
    )


def message_for_fanout(message_id: UUID | str) -> Message | None:
    """The message with its sender and conversation, or None when there is
    nothing to notify of (gone, deleted, hidden by a moderator, a system
    notice)."""
    message = Message.objects.select_related("sender", "conversation").filter(pk=message_id).first()
    if (
        message is None
        or message.deleted_at
        or message.hidden_at
        or message.message_type == MessageType.SYSTEM
    ):
        return None
    return message


def message_audience(message: Message) -> Audience:
    """The active members (active accounts) of the message's conversation
    but its sender and bots (told through their own webhook or socket,
    never by email or push), with their preferences and mutes: three
    queries."""
    user_ids = list(
        ConversationParticipant.objects.active()
        .filter(conversation_id=message.conversation_id, user__is_active=True)
        .exclude(user_id=message.sender_id)
        .exclude(user__role=Role.BOT)
        .values_list("user_id", flat=True)
    )
    return _choices(message.conversation, user_ids)


def thread_followers(root_id: UUID) -> set[UUID]:
    """The people following the thread of ``root_id`` (one query)."""
    return set(
        ThreadFollow.objects.filter(thread_id=root_id, following=True).values_list(
            "user_id", flat=True
        )
    )


def added_audience(conversation_id: UUID | str, user_ids: Iterable[UUID | str]) -> Audience | None:
    """Of ``user_ids``, the active members (active accounts, bots left out)
    of the conversation, with their preferences and mutes; None when it is
    gone."""
    conversation = Conversation.objects.filter(pk=conversation_id).first()
    if conversation is None:
        return None
    members = list(
        ConversationParticipant.objects.active()
        .filter(conversation=conversation, user__is_active=True, user_id__in=list(user_ids))
        .exclude(user__role=Role.BOT)
        .values_list("user_id", flat=True)
    )
    return _choices(conversation, members)


def already_told_added(
    conversation_id: UUID | str, user_ids: Iterable[UUID | str], *, message_id: UUID | str | None
) -> set[UUID]:
    """Of ``user_ids``, those who have an ``added`` notification of this
    conversation (for this notice, when ``message_id`` is given)."""
    rows = Notification.objects.filter(
        kind=Kind.ADDED, conversation_id=conversation_id, user_id__in=list(user_ids)
    )
    if message_id is not None:
        rows = rows.filter(message_id=message_id)
    return set(rows.values_list("user_id", flat=True))


def stored_for_message(
    message_id: UUID | str, *, user_ids: Iterable[UUID], kinds: Iterable[str]
) -> list[Notification]:
    """The notifications of ``message_id`` for these people and kinds, as
    stored (some by an earlier run of the same fan-out)."""
    return list(
        Notification.objects.filter(
            message_id=message_id, user_id__in=list(user_ids), kind__in=list(kinds)
        )
    )


def actor_and_notice(
    actor_id: UUID | str | None, message_id: UUID | str | None, conversation_id: UUID | str
) -> tuple[User | None, Message | None]:
    """Who added people (None: unknown or gone), and the "added" notice of
    the conversation (None when not given or not of this conversation)."""
    actor = User.objects.filter(pk=actor_id).first() if actor_id else None
    notice = (
        Message.objects.filter(pk=message_id, conversation_id=conversation_id).first()
        if message_id
        else None
    )
    return actor, notice
