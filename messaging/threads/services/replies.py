"""Replies and threads: what a send with ``reply_to_id`` or ``parent_id``
adds to it (``messaging.services.messages.send_message`` calls this).

A reply is an ordinary message of its conversation (same seq stream,
idempotency, receipts, search, moderation). ``reply_to`` is the message it
quotes; ``parent`` is the root of the thread it belongs to. Threads are one
level deep: a reply to a thread reply joins the root's thread.

Two steps, around ``store_message``:

- ``resolve`` (before the store) reads the quoted message and the thread's
  root and puts them on the unsaved message, so the ``message.new`` frame
  and the ``ack`` carry ``parent_id`` and ``reply_to`` without a query. It
  refuses nothing yet: a person who may not post in the conversation must
  be told that, not whether some message id exists there.
- ``check`` and ``record`` (after the store claimed the seq, so under the
  conversation's row lock) refuse an invalid target (``InvalidInput``: the
  send rolls back) and update the thread's summary and its follows.

Deleting a reply leaves the thread's count as it was: the deleted reply
stays in the thread as a placeholder (as in Slack), like a deleted message
keeps its place in the stream.
"""

from dataclasses import dataclass
from uuid import UUID

from django.db.models import F, Q
from django.utils.translation import gettext as _

from accounts.models import User
from messaging import events
from messaging.errors import InvalidInput
from messaging.models import Message, MessageType
from messaging.threads.models import Thread, ThreadFollow

# How many distinct repliers a thread's summary shows, newest first.
LAST_REPLIERS = 3


@dataclass(frozen=True)
class ReplyTarget:
    """What ``resolve`` found for one send (``None``: not asked for, or not
    a message of the conversation)."""

    parent_id: UUID | None
    reply_to_id: UUID | None
    also_to_conversation: bool
    root: Message | None
    quoted: Message | None

    @property
    def asked(self) -> bool:
        return self.parent_id is not None or self.reply_to_id is not None

    @property
    def root_id(self) -> UUID | None:
        """The thread the reply joins: the given parent's root when the
        parent is itself a thread reply."""
        return self.root.pk if self.root is not None else self.parent_id


NOTHING = ReplyTarget(None, None, False, None, None)


def resolve(
    *,
    conversation_id: UUID,
    parent_id: UUID | None,
    reply_to_id: UUID | None,
    also_to_conversation: bool,
) -> ReplyTarget:
    """Read the quoted message and the thread's root (one query, two when
    the parent is a thread reply), only among the conversation's messages.
    ``also_to_conversation`` without a parent is refused at once: it names
    no message."""
    if also_to_conversation and parent_id is None:
        raise InvalidInput(_("also_to_conversation needs a parent_id."))
    if parent_id is None and reply_to_id is None:
        return NOTHING
    wanted = {i for i in (parent_id, reply_to_id) if i is not None}
    found = {
        m.pk: m
        for m in Message.objects.select_related("sender").filter(
            pk__in=wanted, conversation_id=conversation_id
        )
    }
    root = found.get(parent_id) if parent_id is not None else None
    if root is not None and root.parent_id is not None:
        # One level of threads: a reply to a thread reply joins its thread.
        root = (
            Message.objects.select_related("sender")
            .filter(pk=root.parent_id, conversation_id=conversation_id)
            .first()
        )
    quoted = found.get(reply_to_id) if reply_to_id is not None else None
    return ReplyTarget(parent_id, reply_to_id, also_to_conversation, root, quoted)


def apply(message: Message, target: ReplyTarget) -> None:
    """Put the reply's columns on the unsaved ``message``, the quoted
    message loaded (its payload's ``reply_to`` costs no query)."""
    if not target.asked:
        return
    message.also_to_conversation = target.also_to_conversation
    if target.parent_id is not None:
        # The given id until ``check`` has refused a missing root: the
        # foreign key is checked at commit, after ``check`` ran.
        message.parent_id = target.root_id
    if target.quoted is not None:
        # Missing: left unset, and ``check`` refuses the send.
        message.reply_to = target.quoted


def check(target: ReplyTarget) -> None:
    """Refuse a reply whose targets are not messages of the conversation
    (missing, or of another one: the same answer), a system message, or,
    for a thread, a deleted or hidden root. A quoted message may be deleted
    or hidden (the quote shows it so)."""
    if target.reply_to_id is not None:
        quoted = target.quoted
        if quoted is None:
            raise InvalidInput(_("reply_to_id is not a message of this conversation."))
        if quoted.message_type == MessageType.SYSTEM:
            raise InvalidInput(_("A system message cannot be replied to."))
    if target.parent_id is not None:
        root = target.root
        if root is None:
            raise InvalidInput(_("parent_id is not a message of this conversation."))
        if root.message_type == MessageType.SYSTEM:
            raise InvalidInput(_("A system message cannot start a thread."))
        # Read again under the conversation's lock: a delete or hide that
        # committed since ``resolve`` counts (both take the same lock).
        gone = Message.objects.filter(
            Q(deleted_at__isnull=False) | Q(hidden_at__isnull=False), pk=root.pk
        ).exists()
        if gone:
            raise InvalidInput(
                _("This message was deleted or hidden; it cannot get thread replies.")
            )


def record(*, message: Message, target: ReplyTarget, sender: User) -> None:
    """The reply is stored (``message.seq`` set) and its conversation's row
    is locked by the send: count it in its thread's summary, make the
    replier (read up to their reply) and the root's author follow the
    thread, and publish ``thread.updated`` after commit."""
    root = target.root
    if root is None or message.parent_id is None:
        return
    thread, _ = Thread.objects.get_or_create(
        root_id=root.pk, defaults={"conversation_id": root.conversation_id}
    )
    replier = events.user_payload(sender)
    others = [r for r in (thread.last_repliers or []) if r.get("id") != replier["id"]]
    thread.reply_count = F("reply_count") + 1
    thread.last_reply_at = message.sent_at
    thread.last_reply_seq = message.seq
    thread.last_repliers = [replier, *others][:LAST_REPLIERS]
    thread.save(update_fields=["reply_count", "last_reply_at", "last_reply_seq", "last_repliers"])
    thread.refresh_from_db(fields=["reply_count"])
    _follow_as_replier(thread, sender, message.seq)
    if root.sender_id and root.sender_id != sender.pk:
        # The root's author follows from the first reply on, unless they
        # already chose (a row exists: following or not).
        ThreadFollow.objects.get_or_create(
            thread=thread, user_id=root.sender_id, defaults={"following": True}
        )
    root.thread = thread
    events.publish_on_commit(
        events.conversation_group(root.conversation_id), events.thread_updated(root)
    )


def _follow_as_replier(thread: Thread, sender: User, seq: int) -> None:
    """Taking part makes one follow the thread again, and one has read it
    up to one's own reply."""
    follow, created = ThreadFollow.objects.get_or_create(
        thread=thread, user=sender, defaults={"following": True, "last_read_seq": seq}
    )
    if not created:
        follow.following = True
        follow.last_read_seq = max(follow.last_read_seq, seq)
        follow.save(update_fields=["following", "last_read_seq", "updated_at"])


def rename_replier(user: User) -> None:
    """``user``'s new name in the thread summaries that name them (each
    keeps its last repliers' payloads, so the stream shows them without a
    query). Every replier has a follow row of the thread (kept when they
    unfollow), so those are the threads to look at. Each is locked as a
    reply's ``record`` writes it: a reply stored meanwhile is not undone."""
    replier = events.user_payload(user)
    threads = (
        Thread.objects.filter(follows__user_id=user.pk)
        .exclude(last_repliers=[])
        .select_for_update(of=("self",))
        .order_by("pk")
        .only("root_id", "last_repliers")
    )
    renamed = []
    for thread in threads:
        repliers = [replier if r.get("id") == replier["id"] else r for r in thread.last_repliers]
        if repliers != thread.last_repliers:
            thread.last_repliers = repliers
            renamed.append(thread)
    Thread.objects.bulk_update(renamed, ["last_repliers"], batch_size=500)
