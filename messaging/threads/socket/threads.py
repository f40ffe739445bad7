"""Socket commands for threads: reading a thread's history, marking a
thread read, following it. Sending a reply is ``message.send`` with
``parent_id`` (docs/protocol.md, "Replies and threads")."""

from messaging import events, validation
from messaging.realtime.database import db
from messaging.threads import validation as thread_validation
from messaging.threads.selectors import threads as selectors
from messaging.threads.services import follows


def _thread_history(user, root_id, **kwargs) -> dict:
    page = selectors.thread_page(user=user, root_id=root_id, **kwargs)
    return {
        "conversation_id": str(page.root.conversation_id),
        "thread_id": str(page.root.pk),
        "root": events.message_payload(page.root),
        "messages": [events.message_payload(m) for m in page.messages],
        "has_more": page.has_more,
        "unread": page.unread,
    }


async def fetch_thread(consumer, frame, echo):
    """``thread.fetch`` → ``thread.history``: one page of a thread's
    replies, with the cursors of ``history.fetch``."""
    root_id = validation.parse_uuid(frame.get("thread_id"), what="thread_id")
    after_seq = validation.clean_optional_seq(frame.get("after_seq"), what="after_seq")
    before_seq = validation.clean_optional_seq(frame.get("before_seq"), what="before_seq")
    validation.clean_history_cursors(after_seq, before_seq)
    limit = thread_validation.clean_thread_page_size(frame.get("limit"))
    page = await db(_thread_history)(
        consumer.user, root_id, after_seq=after_seq, before_seq=before_seq, limit=limit
    )
    await consumer._send_frame({"type": "thread.history", **echo, **page})


async def read_thread(consumer, frame, echo):
    """``thread.read`` → ``ok``; every tab of the person gets the
    ``thread.read`` event. A receipt like ``read``: it spends the socket's
    receipt budget, and beyond it is held and coalesced (``coalesced``;
    ``messaging.realtime.receipts``)."""
    root_id = validation.parse_uuid(frame.get("thread_id"), what="thread_id")
    seq = validation.clean_seq(frame.get("seq"))
    await consumer.answer_receipt(root_id, THREAD_READ, seq, echo)


THREAD_READ = "thread.read"


def apply_thread_read(user, root_id, seq: int) -> None:
    """A ``thread.read`` receipt, applied now or once the budget allows."""
    follows.mark_thread_read(user=user, root_id=root_id, up_to_seq=seq)


async def follow_thread(consumer, frame, echo):
    """``thread.follow`` → ``ok``."""
    await db(follows.set_following)(
        user=consumer.user,
        root_id=validation.parse_uuid(frame.get("thread_id"), what="thread_id"),
        following=thread_validation.clean_flag(frame.get("following"), what="following"),
    )
    await consumer._send_frame({"type": "ok", **echo})


COMMANDS: dict = {
    "thread.fetch": fetch_thread,
    "thread.read": read_thread,
    "thread.follow": follow_thread,
}
