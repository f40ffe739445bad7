"""Events published by a server's database threads, handed to its event
loop instead of waited for.

A send runs in a thread of the server (``database_sync_to_async``) and
publishes its ``message.new`` when its statement commits. Waiting there for
the event loop to take the publish (``async_to_sync``) held the thread, and
the database connection it came with, until the loop, busy writing other
sockets' frames, got round to it: on the bench a tenth of those threads'
time. Here the thread only queues the layer message on the loop and goes on;
one task per loop sends the queued messages in the order they were handed
over, so what one thread publishes (a send, then an edit of it) leaves in
that order, as when each publish was waited for.

The queue is bounded by the bytes of its frames (``MAX_PENDING_BYTES``):
past it, a thread that hands over another waits until that one is sent
(at most ``MAX_WAIT_SECONDS``), as every publish used to. Sends then slow
to what the layer takes, and nothing is dropped; the process's memory
stays bounded when the loop or Redis falls behind.

A ``message.new`` is not published when the Redis that carries its group
was failed when it was handed over, or has failed since (``live_epoch``,
the channel layer's ``live_epoch``): every socket is told ``degraded`` and
resumes the outage's messages from PostgreSQL, and docs/protocol.md
promises they come in that resume's history, not as ``message.new``. Sent
late instead (the loop got to it after Redis came back), it reached
sockets that had resumed it already, or, released by the hub's live order
ahead of a gap, made them read it a second time. Groups on another Redis
(a sharded layer) go on publishing.
"""

import asyncio
import concurrent.futures
import logging
import threading
import weakref
from collections import deque
from collections.abc import Awaitable, Callable
from typing import NamedTuple

logger = logging.getLogger(__name__)

MAX_PENDING_BYTES = 8 * 1024 * 1024
# The layer's own calls are bounded (messaging.realtime.layer); this bounds
# a thread's wait even if the loop itself is stuck.
MAX_WAIT_SECONDS = 5.0

GroupSend = Callable[[str, dict], Awaitable[None]]
# live_epoch(loop, group): None while the Redis carrying ``group`` is failed;
# otherwise a number that changes once it fails again.
LiveEpoch = Callable[[asyncio.AbstractEventLoop, str], int | None]

# Layer messages the sockets resume from PostgreSQL after an outage.
RESUMED_AFTER_OUTAGE = frozenset({"message_new"})


class _Publish(NamedTuple):
    group: str
    message: dict
    size: int
    sent: concurrent.futures.Future | None
    # A message the sockets resume after an outage (RESUMED_AFTER_OUTAGE),
    # and its group's live epoch when it was handed over.
    resumed_after_outage: bool
    live_epoch: int | None


class Handover:
    """The publishes of one event loop, sent in order by one task."""

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        group_send: GroupSend,
        live_epoch: LiveEpoch | None = None,
    ) -> None:
        self._loop = loop
        self._group_send = group_send
        self._live_epoch = live_epoch
        self._pending: deque[_Publish] = deque()
        self._task: asyncio.Task | None = None
        self._bytes_lock = threading.Lock()
        self.pending_bytes = 0
        self.waited = 0
        self.dropped = 0

    def hand(self, group: str, message: dict) -> None:
        """Queue ``message`` for ``group``; from a thread, wait for it to be
        sent only while the queue is over its bound."""
        size = len(message.get("frame", ""))
        with self._bytes_lock:
            self.pending_bytes += size
            over = self.pending_bytes > MAX_PENDING_BYTES
        sent: concurrent.futures.Future | None = None
        if over and not self._on_loop():
            sent = concurrent.futures.Future()
        resumed = message.get("type") in RESUMED_AFTER_OUTAGE
        epoch = self._epoch(group) if resumed else None
        self._loop.call_soon_threadsafe(
            self._put, _Publish(group, message, size, sent, resumed, epoch)
        )
        if sent is None:
            return
        self.waited += 1
        try:
            sent.result(timeout=MAX_WAIT_SECONDS)
        except concurrent.futures.TimeoutError:
            logger.warning("Publishing is %d bytes behind; went on without waiting", size)

    def _on_loop(self) -> bool:
        """Whether the caller is the loop's own thread (which must not wait
        for itself)."""
        try:
            return asyncio.get_running_loop() is self._loop
        except RuntimeError:
            return False

    def _put(self, publish: _Publish) -> None:
        self._pending.append(publish)
        if self._task is None:
            self._task = self._loop.create_task(self._drain())

    async def _drain(self) -> None:
        try:
            while self._pending:
                publish = self._pending.popleft()
                try:
                    if self._outage_since(publish):
                        self.dropped += 1
                    else:
                        await self._group_send(publish.group, publish.message)
                except Exception:
                    logger.exception(
                        "Could not publish %s to %s", publish.message.get("type"), publish.group
                    )
                finally:
                    with self._bytes_lock:
                        self.pending_bytes -= publish.size
                    if publish.sent is not None and not publish.sent.done():
                        publish.sent.set_result(None)
        finally:
            self._task = None

    def _epoch(self, group: str) -> int | None:
        return 0 if self._live_epoch is None else self._live_epoch(self._loop, group)

    def _outage_since(self, publish: _Publish) -> bool:
        """Whether ``publish`` is a message resumed after an outage, and the
        Redis of its group was down when it was handed over or failed since."""
        if not publish.resumed_after_outage:
            return False
        return publish.live_epoch is None or self._epoch(publish.group) != publish.live_epoch


_handovers: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Handover] = (
    weakref.WeakKeyDictionary()
)


def handover_for(
    loop: asyncio.AbstractEventLoop, group_send: GroupSend, live_epoch: LiveEpoch | None = None
) -> Handover:
    """The handover of ``loop`` (made on first use; ``group_send`` and
    ``live_epoch`` then)."""
    handover = _handovers.get(loop)
    if handover is None:
        handover = _handovers.setdefault(loop, Handover(loop, group_send, live_epoch))
    return handover
