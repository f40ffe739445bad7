"""The fan-out's queue is the messages table itself.

A send does not hand a task of its own to the broker (Celery's machinery
around one Redis push cost a web process about 1.1 ms a send, the largest
item of its profile). It nudges: the conversation's id joins this process's
pending set, and at most ``PARLEY_FANOUT_NUDGE_SECONDS`` later one
``notify_conversations`` task carries every conversation nudged meanwhile.
The task walks each conversation from its ``FanoutCursor`` in seq order and
moves the cursor on, so nothing depends on the nudge arriving: a process
killed between a send's commit and its nudge leaves the message past the
cursor, where the periodic ``notify_pending`` sweep finds it.

Why the walk can trust seq: a send takes the next seq by updating the
conversation's row, whose lock it holds until it commits, so a
conversation's messages commit in seq order and what a reader sees of them
is always a prefix. A walk never steps over a message that commits later.
"""

import atexit
import logging
import os
import threading
from uuid import UUID

from celery import current_app
from django.conf import settings
from django.db import transaction
from django.db.models import F, Value
from django.db.models.functions import Coalesce

from config import broker
from messaging import events
from messaging.models import Conversation, Message
from notifications.models import FanoutCursor

logger = logging.getLogger(__name__)

# Messages told per transaction: the cursor's row stays locked while they
# are, and a conversation that gained thousands while the workers were away
# is walked in several.
WALK_BATCH = 200


def nudge_on_commit(conversation_id: UUID | str) -> None:
    """Once the current transaction commits, have the conversation's new
    messages told. Where tasks run in this process (the embedded default,
    eager tests) the walk runs at once, as the per-message task did."""
    conversation_id = str(conversation_id)
    if settings.PARLEY_LIVE_TASKS_IN_PROCESS or current_app.conf.task_always_eager:
        from notifications import tasks

        events.enqueue_on_commit(tasks.notify_conversations, [conversation_id])
        return
    transaction.on_commit(lambda: _nudges.add(conversation_id))


def notify_conversation(conversation_id: UUID | str) -> int:
    """Tell the members of every message of the conversation past its
    cursor, in seq order, and move the cursor past them. Two walks of one
    conversation take turns on the cursor's row, so each message is walked
    once; a message whose fan-out fails is logged and stepped over, as its
    own task's failure was. Returns how many notifications were created."""
    conversation_id = UUID(str(conversation_id))
    created = 0
    while True:
        told, walked = _walk_batch(conversation_id)
        created += told
        if walked < WALK_BATCH:
            return created


def _walk_batch(conversation_id: UUID) -> tuple[int, int]:
    """One transaction of the walk: (notifications created, messages walked)."""
    # Here, not at the top: the fan-out uses messaging's services (support),
    # which nudge through this module.
    from notifications.services import fanout

    with transaction.atomic():
        cursor = _locked_cursor(conversation_id)
        if cursor is None:
            return 0, 0
        pending = list(
            Message.objects.filter(conversation_id=conversation_id, seq__gt=cursor.seq)
            .order_by("seq")
            .values_list("pk", "seq")[:WALK_BATCH]
        )
        created = 0
        for message_id, seq in pending:
            try:
                with transaction.atomic():
                    created += fanout.notify_message(message_id=message_id)
            except Exception:
                logger.exception("Could not notify of message %s (seq %s)", message_id, seq)
            cursor.seq = seq
        if pending:
            cursor.save(update_fields=["seq"])
        return created, len(pending)


def _locked_cursor(conversation_id: UUID) -> FanoutCursor | None:
    """The conversation's cursor, locked for this transaction (made at 0
    the first time), or None when the conversation is gone."""
    cursor = FanoutCursor.objects.select_for_update().filter(pk=conversation_id).first()
    if cursor is not None:
        return cursor
    if not Conversation.objects.filter(pk=conversation_id).exists():
        return None
    # Two first walks may race to make it: one inserts, both then lock it.
    FanoutCursor.objects.bulk_create(
        [FanoutCursor(conversation_id=conversation_id, seq=0)], ignore_conflicts=True
    )
    return FanoutCursor.objects.select_for_update().get(pk=conversation_id)


def notify_pending() -> int:
    """The sweep: walk every conversation with messages past its cursor
    (those whose nudge was lost with its process, or whose task failed).
    Returns how many notifications were created."""
    behind = (
        Conversation.objects.annotate(told=Coalesce(F("fanout_cursor__seq"), Value(0)))
        .filter(last_seq__gt=F("told"))
        .values_list("pk", flat=True)
    )
    return sum(notify_conversation(conversation_id) for conversation_id in behind)


class _Nudges:
    """This process's conversations with sends not yet handed to a worker,
    and the one timer that hands them over, together."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pending: set[str] = set()
        self._timer: threading.Timer | None = None

    def add(self, conversation_id: str) -> None:
        with self._lock:
            self._pending.add(conversation_id)
            if self._timer is None:
                self._timer = threading.Timer(settings.PARLEY_FANOUT_NUDGE_SECONDS, self.flush)
                self._timer.daemon = True
                self._timer.start()

    def _take(self) -> list[str]:
        with self._lock:
            pending, self._pending = sorted(self._pending), set()
            timer, self._timer = self._timer, None
        if timer is not None:
            timer.cancel()  # a no-op when the timer itself is flushing
        return pending

    def flush(self) -> None:
        """Hand what is pending to a worker now. A broker that cannot be
        reached loses only the nudge: the sweep walks those conversations."""
        pending = self._take()
        if not pending:
            return
        from notifications import tasks

        try:
            broker.send(tasks.notify_conversations, pending)
        except Exception:
            logger.exception("Could not hand %d conversations to the fan-out", len(pending))

    def discard(self) -> None:
        """Drop what is pending: a forked child's copy of its parent's
        nudges (the parent hands them over), a test's leftovers."""
        self._lock = threading.Lock()  # a child may have copied it held
        self._take()


_nudges = _Nudges()
atexit.register(_nudges.flush)
os.register_at_fork(after_in_child=_nudges.discard)


def flush_nudges() -> None:
    """Hand this process's pending nudges to a worker now (shutdown, tests)."""
    _nudges.flush()


def discard_nudges() -> None:
    """Forget this process's pending nudges (tests: a send whose hand-off
    must not reach a later test's broker)."""
    _nudges.discard()
