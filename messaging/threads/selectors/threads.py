"""Reads of threads: one thread's root and replies (paged by seq), its
summary and the reader's follow state, and the threads a person follows.

A thread reply is an ordinary message of its conversation's seq stream
(``parent`` names its root), so these are reads of ``messages`` by
``(parent, seq)``. Every one checks membership with
``messaging.selectors.membership_for`` (NotFound, or NotVisible recorded:
the same answer), as the rest of the API does for a foreign conversation.
"""

from dataclasses import dataclass
from uuid import UUID

from django.db.models import Count, Exists, OuterRef, Q, QuerySet
from django.utils.translation import gettext as _

from accounts.models import User
from messaging import limits
from messaging.errors import NotFound
from messaging.models import ConversationParticipant, Message
from messaging.selectors import membership_for, one_page
from messaging.threads.models import Thread, ThreadFollow
from messaging.threads.payloads import with_extras


def _messages() -> QuerySet[Message]:
    """Messages as payloads read them: everything in a fixed number of queries."""
    return with_extras(Message.objects.select_related("sender").prefetch_related("attachments"))


def root_for(user: User, root_id: UUID, *, attempted: str = "thread.read") -> Message:
    """The root of a thread ``user`` may read (its extras loaded). Any
    message that is not itself a thread reply is a thread's root, replies
    or not; a thread reply is not (NotFound), nor is a message of a
    conversation ``user`` does not read (``membership_for``)."""
    root = _messages().filter(pk=root_id).first()
    if root is None:
        raise NotFound(_("No such thread."))
    membership_for(user, root.conversation_id, attempted=attempted, missing=_("No such thread."))
    if root.parent_id is not None:
        raise NotFound(_("No such thread: this message is a reply in a thread."))
    return root


def thread_of(root: Message) -> Thread | None:
    """The root's thread summary row (loaded with it), or None."""
    try:
        return root.thread
    except Thread.DoesNotExist:
        return None


def follow_of(user: User, root_id: UUID) -> ThreadFollow | None:
    return ThreadFollow.objects.filter(user=user, thread_id=root_id).first()


def unread_count(user: User, root_id: UUID, last_read_seq: int) -> int:
    """Replies of the thread after ``last_read_seq``, not ``user``'s own,
    neither deleted nor hidden."""
    return (
        Message.objects.filter(
            parent_id=root_id,
            seq__gt=last_read_seq,
            deleted_at__isnull=True,
            hidden_at__isnull=True,
        )
        .exclude(sender=user)
        .count()
    )


def took_part(user: User, root: Message) -> bool:
    """``user`` wrote the root or a reply of its thread."""
    return root.sender_id == user.pk or Message.objects.filter(parent=root, sender=user).exists()


@dataclass(frozen=True)
class ThreadPage:
    root: Message
    messages: list[Message]
    has_more: bool
    unread: int


def thread_page(
    *,
    user: User,
    root_id: UUID,
    after_seq: int | None = None,
    before_seq: int | None = None,
    limit: int | None = None,
) -> ThreadPage:
    """One page of a thread's replies, oldest first, by keyset on seq: the
    cursors of ``selectors.history_page`` (``after_seq`` forward, with
    ``has_more`` saying newer replies remain; ``before_seq`` back, and with
    neither the latest page, ``has_more`` saying older ones remain; never
    both, ``validation.clean_history_cursors``). ``limit`` None is
    ``THREAD_PAGE_SIZE``. ``unread`` is the reader's unread count."""
    root = root_for(user, root_id, attempted="thread.history")
    if limit is None:
        limit = limits.thread_page_size()
    replies = _messages().filter(parent_id=root.pk)
    if after_seq is not None:
        page = list(replies.filter(seq__gt=after_seq).order_by("seq")[: limit + 1])
        messages, has_more = page[:limit], len(page) > limit
    else:
        if before_seq is not None:
            replies = replies.filter(seq__lt=before_seq)
        page = list(replies.order_by("-seq")[: limit + 1])
        has_more = len(page) > limit
        messages = page[:limit]
        messages.reverse()
    follow = follow_of(user, root.pk)
    unread = unread_count(user, root.pk, follow.last_read_seq if follow else 0)
    return ThreadPage(root=root, messages=messages, has_more=has_more, unread=unread)


@dataclass(frozen=True)
class ThreadDetail:
    root: Message
    thread: Thread | None
    following: bool
    last_read_seq: int
    unread: int


def thread_detail(*, user: User, root_id: UUID) -> ThreadDetail:
    """A thread's root, summary, and the reader's follow state: following
    (a row saying so; nobody follows a thread they have no row for) and
    how far they have read it."""
    root = root_for(user, root_id)
    follow = follow_of(user, root.pk)
    last_read = follow.last_read_seq if follow else 0
    return ThreadDetail(
        root=root,
        thread=thread_of(root),
        following=bool(follow and follow.following),
        last_read_seq=last_read,
        unread=unread_count(user, root.pk, last_read),
    )


@dataclass(frozen=True)
class FollowedThread:
    root: Message
    thread: Thread
    unread: int
    following: bool


def followed_threads(*, user: User, limit: int, offset: int) -> tuple[list[FollowedThread], bool]:
    """The threads ``user`` follows, with at least one reply, in
    conversations they are still an active member of, the most recent
    reply first (ties by root id), from ``offset``; and whether more follow.
    Three queries whatever the page holds."""
    member = ConversationParticipant.objects.active().filter(
        user=user, conversation_id=OuterRef("thread__conversation_id")
    )
    follows, has_more = one_page(
        ThreadFollow.objects.filter(user=user, following=True, thread__reply_count__gt=0)
        .filter(Exists(member))
        .select_related("thread")
        .order_by("-thread__last_reply_at", "-thread_id"),
        limit=limit,
        offset=offset,
    )
    roots = {m.pk: m for m in _messages().filter(pk__in=[f.thread_id for f in follows])}
    unread = _unread_counts(user, follows)
    page = [
        FollowedThread(
            root=roots[f.thread_id],
            thread=f.thread,
            unread=unread.get(f.thread_id, 0),
            following=f.following,
        )
        for f in follows
        if f.thread_id in roots
    ]
    return page, has_more


def _unread_counts(user: User, follows: list[ThreadFollow]) -> dict[UUID, int]:
    """Each followed thread's unread count, in one query."""
    if not follows:
        return {}
    after = Q()
    for f in follows:
        after |= Q(parent_id=f.thread_id, seq__gt=f.last_read_seq)
    rows = (
        Message.objects.filter(after, deleted_at__isnull=True, hidden_at__isnull=True)
        .exclude(sender=user)
        .values("parent_id")
        .annotate(n=Count("id"))
    )
    return {r["parent_id"]: r["n"] for r in rows}
