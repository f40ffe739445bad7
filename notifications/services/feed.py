"""Writes of the in-app notification centre: marking read. Every change is
announced to all of the user's sockets (``notification.read``, with the new
unread count), so every open tab's bell agrees."""

from uuid import UUID

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from messaging import events
from messaging.errors import NotFound
from messaging.integrations.models import Reminder
from messaging.models import ConversationParticipant, Message
from notifications.models import Kind, Notification
from notifications.selectors import feed as feed_selectors


def _announce(user: User, ids: list[UUID] | None, *, removed: bool = False) -> None:
    # Counted after commit: a tab must never show a count from a rolled-back
    # or not yet visible state.
    def send() -> None:
        count = feed_selectors.unread_count(user)
        events.publish(
            events.user_group(user.pk),
            events.notification_read(ids=ids, unread_count=count, removed=removed),
        )

    transaction.on_commit(send)


def mark_read(*, user: User, notification_id: UUID) -> Notification:
    """Mark one of the user's notifications read (again: no change). Another
    person's notification is NotFound, as one that does not exist."""
    with transaction.atomic():
        notification = (
            Notification.objects.select_for_update().filter(pk=notification_id, user=user).first()
        )
        if notification is None:
            raise NotFound(_("No such notification."))
        if notification.read_at is None:
            notification.read_at = timezone.now()
            notification.save(update_fields=["read_at"])
            _announce(user, [notification.pk])
    return notification


def mark_all_read(*, user: User) -> int:
    """Mark every notification of the user read; returns how many changed."""
    with transaction.atomic():
        changed = Notification.objects.filter(user=user, read_at__isnull=True).update(
            read_at=timezone.now()
        )
        if changed:
            _announce(user, None)
    return changed


def mark_conversation_read(*, user: User, conversation_id: UUID, up_to_seq: int) -> int:
    """Reading a conversation up to ``up_to_seq`` clears its bell entries
    about those messages (and about being added to it). Called by the
    receipts service inside its transaction; returns how many changed."""
    ids = feed_selectors.unread_ids_in_conversation(
        user=user, conversation_id=conversation_id, up_to_seq=up_to_seq
    )
    if not ids:
        return 0
    changed = Notification.objects.filter(pk__in=ids, read_at__isnull=True).update(
        read_at=timezone.now()
    )
    if changed:
        _announce(user, ids)
    return changed


# Notifications about a message of the conversation's stream itself (or
# being added by its notice): what reading the conversation clears.
_READ_IN_THE_STREAM = (Kind.DIRECT, Kind.GROUP, Kind.MENTION, Kind.ADDED)


def mark_read_on_arrival(*, notifications: list[Notification], message: Message) -> int:
    """Of the notifications just written about ``message``, mark read those
    whose person has already read their conversation past it: they read it
    live before the fan-out wrote them (reading marks only what exists), and
    the bell would count it until their next read. Run in the fan-out's
    transaction, before it hands the rest on to push and email.

    The people's memberships are locked first: a read under way (its cursor
    moved, not yet committed, so it could not see these rows) is waited for
    and its cursor read here; one that starts later waits for this
    transaction, and then finds the rows itself."""
    if not message.in_main_stream or not notifications:
        return 0  # a thread-only reply is read in its thread
    cursors = (
        ConversationParticipant.objects.active()
        .filter(
            conversation_id=message.conversation_id,
            user_id__in={n.user_id for n in notifications},
        )
        .order_by("pk")
        .select_for_update(no_key=True)
        .values_list("user_id", "last_read_seq")
    )
    read_past = {user_id for user_id, last_read_seq in cursors if last_read_seq >= message.seq}
    if not read_past:
        return 0
    return Notification.objects.filter(
        pk__in=[n.pk for n in notifications if n.user_id in read_past],
        read_at__isnull=True,
        kind__in=_READ_IN_THE_STREAM,
    ).update(read_at=timezone.now())


def mark_thread_read(*, user: User, root_id: UUID, up_to_seq: int) -> int:
    """Reading a thread up to ``up_to_seq`` clears the bell entries about
    its replies up to there. Called by the thread-read service inside its
    transaction; returns how many changed."""
    ids = feed_selectors.unread_ids_in_thread(user=user, root_id=root_id, up_to_seq=up_to_seq)
    if not ids:
        return 0
    changed = Notification.objects.filter(pk__in=ids, read_at__isnull=True).update(
        read_at=timezone.now()
    )
    if changed:
        _announce(user, ids)
    return changed


_ABOUT_MESSAGES = (Kind.DIRECT, Kind.GROUP, Kind.MENTION, Kind.THREAD_REPLY)


def message_edited(*, message: Message) -> int:
    """The notifications about an edited message show its new text (the
    excerpt is kept with them), for the people who may still read it: one
    removed from the conversation (or who left) keeps what they were told,
    and learns nothing of it since. Called by the edit service in its
    transaction; returns how many changed."""
    # Imported here: the fan-out reaches messaging.realtime, which this
    # module (imported by messaging's services) must not load at import time.
    from notifications.services.fanout import message_data

    readers = ConversationParticipant.objects.active().filter(
        conversation_id=message.conversation_id
    )
    return Notification.objects.filter(
        message=message,
        kind__in=_ABOUT_MESSAGES,
        user_id__in=readers.values("user_id"),
    ).update(data=message_data(message))


def message_deleted(*, message_id: UUID) -> int:
    """A deleted message's notifications go (their excerpt would outlive
    its content); the people who had them in their bell are told
    (``notification.read`` with ``removed``) and get the new count. Called
    by the delete service in its transaction."""
    rows = Notification.objects.filter(message_id=message_id, kind__in=_ABOUT_MESSAGES)
    # Reminders name their message in ``data`` (a reminder fires once per
    # snooze): those of the people who set one on it go too.
    reminded = Reminder.objects.filter(message_id=message_id).values("user_id")
    rows = rows | Notification.objects.filter(
        kind=Kind.REMINDER, user_id__in=reminded, data__message_id=str(message_id)
    )
    shown = list(rows.filter(in_app=True).values_list("user_id", "id"))
    removed, _ = rows.delete()
    by_user: dict[UUID, list[UUID]] = {}
    for user_id, notification_id in shown:
        by_user.setdefault(user_id, []).append(notification_id)
    for user_id, ids in by_user.items():
        _announce(User(pk=user_id), ids, removed=True)
    return removed
