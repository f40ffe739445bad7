"""A person's relation to a thread: how far they read it, and whether they
follow it (``ThreadFollow``). Followers get a ``thread_reply`` notification
for each new reply (``notifications.services.fanout``)."""

from dataclasses import dataclass
from uuid import UUID

from django.db import transaction

from accounts.models import User
from messaging import events
from messaging.threads.models import Thread, ThreadFollow
from messaging.threads.selectors import threads as selectors


@dataclass(frozen=True)
class ReadState:
    thread_id: UUID
    conversation_id: UUID
    last_read_seq: int
    unread: int
    following: bool


def _follow_row(user: User, root) -> tuple[ThreadFollow, bool]:
    """The person's row for the root's thread, made (with the thread's
    summary row, empty until a reply comes) when absent. A new row follows
    the thread only if the person took part in it (wrote the root or a
    reply)."""
    thread, _ = Thread.objects.get_or_create(
        root_id=root.pk, defaults={"conversation_id": root.conversation_id}
    )
    follow = ThreadFollow.objects.select_for_update().filter(user=user, thread=thread).first()
    if follow is not None:
        return follow, False
    return ThreadFollow.objects.get_or_create(
        user=user,
        thread=thread,
        defaults={"following": selectors.took_part(user, root), "last_read_seq": 0},
    )


def mark_thread_read(*, user: User, root_id: UUID, up_to_seq: int) -> ReadState:
    """The person has read the thread up to ``up_to_seq`` (a seq of the
    conversation; replies are messages of its stream). The cursor only
    moves forward and stops at the thread's last reply. Every tab of the
    person hears ``thread.read`` after commit (their own group), with what
    is left unread. ``user`` must read the conversation (NotFound,
    AccessDenied), and ``root_id`` must be a thread's root (NotFound)."""
    root = selectors.root_for(user, root_id, attempted="thread.read")
    with transaction.atomic():
        follow, _ = _follow_row(user, root)
        thread = follow.thread
        cap = max(thread.last_reply_seq, root.seq)
        target = min(up_to_seq, cap)
        if target > follow.last_read_seq:
            follow.last_read_seq = target
            follow.save(update_fields=["last_read_seq", "updated_at"])
        unread = selectors.unread_count(user, root.pk, follow.last_read_seq)
        events.publish_on_commit(
            events.user_group(user.pk),
            events.thread_read(
                conversation_id=root.conversation_id,
                thread_id=root.pk,
                up_to_seq=follow.last_read_seq,
                unread=unread,
            ),
        )
    return ReadState(
        thread_id=root.pk,
        conversation_id=root.conversation_id,
        last_read_seq=follow.last_read_seq,
        unread=unread,
        following=follow.following,
    )


def set_following(*, user: User, root_id: UUID, following: bool) -> ReadState:
    """Follow or stop following a thread (the same answer twice changes
    nothing). Replying follows it again. ``user`` must read the
    conversation (NotFound, AccessDenied); ``root_id`` must be a thread's
    root (NotFound)."""
    root = selectors.root_for(user, root_id, attempted="thread.follow")
    with transaction.atomic():
        follow, _ = _follow_row(user, root)
        if follow.following != following:
            follow.following = following
            follow.save(update_fields=["following", "updated_at"])
    return ReadState(
        thread_id=root.pk,
        conversation_id=root.conversation_id,
        last_read_seq=follow.last_read_seq,
        unread=selectors.unread_count(user, root.pk, follow.last_read_seq),
        following=follow.following,
    )
