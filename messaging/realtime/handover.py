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

The queue is bounded: past ``MAX_PENDING`` messages (the layer cannot keep
up, or Redis is away and every send waits out its timeout) new ones are
dropped and logged. Events are hints; clients recover from the database
(docs/protocol.md, "resume").
"""

import asyncio
import logging
import weakref
from collections import deque
from collections.abc import Awaitable, Callable

logger = logging.getLogger(__name__)

MAX_PENDING = 10_000

GroupSend = Callable[[str, dict], Awaitable[None]]


class Handover:
    """The publishes of one event loop, sent in order by one task."""

    def __init__(self, loop: asyncio.AbstractEventLoop, group_send: GroupSend) -> None:
        self._loop = loop
        self._group_send = group_send
        self._pending: deque[tuple[str, dict]] = deque()
        self._task: asyncio.Task | None = None
        self.dropped = 0

    def hand(self, group: str, message: dict) -> None:
        """Queue ``message`` for ``group`` from any thread; never waits."""
        self._loop.call_soon_threadsafe(self._put, group, message)

    def _put(self, group: str, message: dict) -> None:
        if len(self._pending) >= MAX_PENDING:
            self.dropped += 1
            logger.warning("Publishing is %d events behind; dropped a %s", MAX_PENDING, group)
            return
        self._pending.append((group, message))
        if self._task is None:
            self._task = self._loop.create_task(self._drain())

    async def _drain(self) -> None:
        try:
            while self._pending:
                group, message = self._pending.popleft()
                try:
                    await self._group_send(group, message)
                except Exception:
                    logger.exception("Could not publish %s to %s", message.get("type"), group)
        finally:
            self._task = None


_handovers: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Handover] = (
    weakref.WeakKeyDictionary()
)


def handover_for(loop: asyncio.AbstractEventLoop, group_send: GroupSend) -> Handover:
    """The handover of ``loop`` (made on first use; ``group_send`` then)."""
    handover = _handovers.get(loop)
    if handover is None:
        handover = _handovers.setdefault(loop, Handover(loop, group_send))
    return handover
