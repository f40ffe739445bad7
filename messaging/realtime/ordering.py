"""Live delivery in seq order, per conversation, per process.

Commits finish, and publish, in any order: two members sending at once
through two processes make every socket see 1, 3, 2. The hub
(``messaging.realtime.hub``) offers every event of a conversation group to
``LiveOrder``, which releases them to the hub's fan-out so that each
conversation's ``message.new`` events leave in strictly increasing seq
order, each once.

Interface (the hub depends on nothing else):

- ``LiveOrder(release)``: ``release(event)`` is the hub's synchronous
  fan-out of one layer message (``{"type", "frame", "conversation",
  "seq"?, ...}``) to the local sockets of its conversation.
- ``offer(event)``: an event of a conversation group, as the channel
  layer delivered it. Released now, or later in order.
- ``forget(conversation)``: no local socket is in that conversation any
  more; drop what is kept for it.
- ``restart()``: live delivery was down (Redis away) and is back; every
  conversation starts afresh (below).
- ``close()``: stop timers and pending fills (the process is ending).

How it orders, per conversation:

- It keeps the last seq it released (the cursor). The first event it sees
  for a conversation is released at once; a ``message.new`` among them
  sets the cursor.
- A ``message.new`` with the next seq is released at once, and so are the
  held ones it makes contiguous. One with a seq at or below the cursor, or
  already held, is a duplicate and dropped.
- An early one (a gap before it) is held. Sends claim their seq under the
  conversation row's lock and commit before the next send can claim, so
  when seq n has been published every seq below it is already committed:
  the missing ones are only late (or dropped by the layer, which is
  at-most-once). After ``PARLEY_LIVE_ORDER_HOLD_MS`` they are read from
  PostgreSQL (``selectors.message_new_frames``, the same frame the send
  published) and released in order before the held ones. A seq PostgreSQL
  does not have either (a purged message) is skipped.
- One gap is read at a time per process (``concurrent_fills``); a gap
  waiting for its turn is measured again when its turn comes, and not read
  at all if the missing ones arrived meanwhile. Why: a process behind its
  load (its loop late by more than the hold) sees every conversation's hold
  expire while the missing events sit unread in its own socket buffer, and
  a read per conversation at once takes the database threads its sends
  need. Past the held rate, one at a time read less than half as many
  gaps (docs/benchmarks.md, "7 December").
- Any other event (an edit, a deletion, a receipt, a reaction, typing…)
  that arrives while messages are held waits until every message held
  before it has been released, then leaves in arrival order: an edit of
  message 5 never overtakes message 5 itself.
- If the fill fails (the database is unavailable), what is held is
  released in seq order anyway and the cursor moves past the gap. A late
  arrival below the cursor is then dropped: the client's own gap check and
  ``resume`` (docs/protocol.md) are the second line.

After an outage of live delivery the sockets are told (``degraded``) and
resume from PostgreSQL themselves; the cursors kept from before it would
make the first live message after it read the whole outage's messages
from PostgreSQL and send them again, to sockets that just resumed them. So
``restart()`` releases what is held, in order, and drops every cursor: each
conversation's next event is released as its first.

Memory is bounded: at most ``max_held`` events held or waiting per
conversation (past it, the fill starts at once; past it again while that
fill runs, everything held is released in seq order, gap and all), and at
most ``max_conversations`` cursors (the least recently active is dropped
first, its held events released in order). Timers are asyncio tasks on the
hub's loop, sleeping on ``messaging.realtime.clock`` (a test advances a
``FakeClock`` instead of waiting); ``offer`` never awaits.
"""

import asyncio
import logging
from collections import OrderedDict, deque
from collections.abc import Awaitable, Callable

from django.conf import settings

from messaging import events
from messaging.realtime import clock, selectors
from messaging.realtime.database import db

logger = logging.getLogger(__name__)

# Events held or waiting behind a gap, per conversation. A gap normally
# closes within milliseconds; this many events behind one means a burst, and
# reading the gap at once beats holding more.
MAX_HELD = 200
# Conversations with a cursor kept, per process. A cursor costs a few
# hundred bytes; the hub forgets a conversation no local socket is in.
MAX_CONVERSATIONS = 10_000
# The most messages one fill reads (a resume page). A wider gap means the
# layer lost a whole burst (Redis restarted): the rest is for the clients'
# resume, a page at a time, not for one burst to every socket.
FILL_LIMIT = 200
# Gaps read from PostgreSQL at once, per process (see the module's text).
CONCURRENT_FILLS = 1

# fill(conversation hex, after_seq, before_seq) -> [(seq, message.new frame)]
Fill = Callable[[str, int, int], Awaitable[list[tuple[int, str]]]]


async def fill_from_database(
    conversation: str, after_seq: int, before_seq: int
) -> list[tuple[int, str]]:
    """The stored ``message.new`` frames between two seqs (exclusive), read
    with the database's timeout; a fault raises ``ServiceUnavailable``."""
    return await db(selectors.message_new_frames)(
        conversation, after_seq=after_seq, before_seq=before_seq, limit=FILL_LIMIT
    )


def hold_seconds_setting() -> float:
    return settings.PARLEY_LIVE_ORDER_HOLD_MS / 1000


class _Stream:
    """What is kept for one conversation."""

    __slots__ = ("fill", "held", "last", "timer", "waiting")

    def __init__(self, last: int) -> None:
        self.last = last  # the highest seq released
        self.held: dict[int, dict] = {}  # early message.new events, by seq
        # Other events behind held messages: (the highest seq held when it
        # came, the event); it leaves once the cursor reaches that seq.
        self.waiting: deque[tuple[int, dict]] = deque()
        self.timer: asyncio.Task | None = None
        self.fill: asyncio.Task | None = None

    def pending(self) -> int:
        return len(self.held) + len(self.waiting)

    def stop(self) -> list[asyncio.Task]:
        """Cancel the timer and the fill; the tasks, to be awaited."""
        tasks = [task for task in (self.timer, self.fill) if task is not None]
        for task in tasks:
            task.cancel()
        self.timer = self.fill = None
        return tasks


class LiveOrder:
    def __init__(
        self,
        release: Callable[[dict], None],
        *,
        fill: Fill = fill_from_database,
        hold_seconds: float | None = None,
        max_held: int = MAX_HELD,
        max_conversations: int = MAX_CONVERSATIONS,
        concurrent_fills: int = CONCURRENT_FILLS,
    ) -> None:
        """``hold_seconds``: how long an early message waits for the ones
        before it (None: ``PARLEY_LIVE_ORDER_HOLD_MS``). ``fill`` reads the
        missing ones (``fill_from_database``), ``concurrent_fills`` gaps at
        a time."""
        if max_held < 1 or max_conversations < 1 or concurrent_fills < 1:
            raise ValueError("max_held, max_conversations and concurrent_fills must be at least 1.")
        self._fill_turns = asyncio.Semaphore(concurrent_fills)
        self._release = release
        self._fill = fill
        self._hold_seconds = hold_seconds_setting() if hold_seconds is None else hold_seconds
        self._max_held = max_held
        self._max_conversations = max_conversations
        self._streams: OrderedDict[str, _Stream] = OrderedDict()

    # --- Interface ------------------------------------------------------------

    def offer(self, event: dict) -> None:
        conversation = event.get("conversation")
        if conversation is None:
            self._emit(event)  # not a conversation's event: nothing to order
            return
        seq = event.get("seq") if event.get("type") == "message_new" else None
        stream = self._streams.get(conversation)
        if stream is None:
            self._emit(event)
            if seq is not None:
                self._track(conversation, _Stream(last=seq))
            return
        self._streams.move_to_end(conversation)
        if seq is None:
            self._offer_other(conversation, stream, event)
        else:
            self._offer_message(conversation, stream, seq, event)

    def forget(self, conversation: str) -> None:
        stream = self._streams.pop(conversation, None)
        if stream is not None:
            stream.stop()

    def restart(self) -> None:
        for stream in self._streams.values():
            stream.stop()
            self._release_through(stream, max(stream.held, default=stream.last))
        self._streams.clear()

    async def close(self) -> None:
        tasks = []
        for stream in self._streams.values():
            tasks += stream.stop()
        self._streams.clear()
        await asyncio.gather(*tasks, return_exceptions=True)

    # --- Ordering -------------------------------------------------------------

    def _offer_message(self, conversation: str, stream: _Stream, seq: int, event: dict) -> None:
        if seq <= stream.last or seq in stream.held:
            return  # a duplicate: released already, or held
        if seq == stream.last + 1:
            self._emit(event)
            stream.last = seq
            self._advance(stream)
            return
        stream.held[seq] = event
        if stream.timer is None and stream.fill is None:
            self._start_hold(conversation, stream)
        self._bound(conversation, stream)

    def _offer_other(self, conversation: str, stream: _Stream, event: dict) -> None:
        if not stream.held and not stream.waiting:
            self._emit(event)
            return
        barrier = max(stream.held, default=stream.last)
        if stream.waiting:
            barrier = max(barrier, stream.waiting[-1][0])  # arrival order among them
        stream.waiting.append((barrier, event))
        self._bound(conversation, stream)

    def _advance(self, stream: _Stream) -> None:
        """Release the held messages that follow the cursor without a gap,
        then the other events no longer behind a held one."""
        while stream.last + 1 in stream.held:
            stream.last += 1
            self._emit(stream.held.pop(stream.last))
        while stream.waiting and stream.waiting[0][0] <= stream.last:
            self._emit(stream.waiting.popleft()[1])
        if not stream.held and stream.timer is not None:
            stream.timer.cancel()
            stream.timer = None

    def _release_through(self, stream: _Stream, seq: int) -> None:
        """Give up on the missing seqs up to ``seq``: release what is held
        up to it in seq order and move the cursor past it."""
        for held in sorted(s for s in stream.held if s <= seq):
            self._emit(stream.held.pop(held))
        stream.last = max(stream.last, seq)
        self._advance(stream)

    def _bound(self, conversation: str, stream: _Stream) -> None:
        if stream.pending() <= self._max_held:
            return
        if stream.fill is None:
            if stream.timer is not None:
                stream.timer.cancel()
                stream.timer = None
            self._start_fill(conversation, stream)
        else:
            # Still growing while the fill runs: stop holding.
            stream.stop()
            self._release_through(stream, max(stream.held, default=stream.last))

    # --- Timers and fills -----------------------------------------------------

    def _start_hold(self, conversation: str, stream: _Stream) -> None:
        # The deadline is taken now, not when the task first runs.
        deadline = clock.monotonic() + self._hold_seconds
        stream.timer = asyncio.get_running_loop().create_task(
            self._hold_then_fill(conversation, stream, deadline)
        )

    async def _hold_then_fill(self, conversation: str, stream: _Stream, deadline: float) -> None:
        await clock.sleep(max(0.0, deadline - clock.monotonic()))
        stream.timer = None
        if self._streams.get(conversation) is stream and stream.held and stream.fill is None:
            self._start_fill(conversation, stream)

    def _start_fill(self, conversation: str, stream: _Stream) -> None:
        stream.fill = asyncio.get_running_loop().create_task(
            self._fill_gap(conversation, stream, max(stream.held))
        )

    async def _fill_gap(self, conversation: str, stream: _Stream, upto: int) -> None:
        """When its turn comes, read the seqs missing between the cursor and
        ``upto`` (the highest one held when the hold ended), then release
        everything up to ``upto`` in seq order. Nothing is read if the gap
        closed while it waited: a later gap then gets its own hold."""
        async with self._fill_turns:
            if self._streams.get(conversation) is not stream:
                return  # forgotten (or dropped for room) while it waited
            if stream.last >= upto:
                stream.fill = None  # the missing ones came while it waited
                if stream.held and stream.timer is None:
                    self._start_hold(conversation, stream)
                return
            after = stream.last
            logger.debug("Reading seqs %d-%d of conversation %s", after + 1, upto - 1, conversation)
            try:
                frames = await self._fill(conversation, after, upto)
            except asyncio.CancelledError:
                raise
            except Exception:
                # The database is unavailable (or the read failed): release in
                # order anyway; clients resume past the gap.
                logger.warning(
                    "Could not read seqs %d-%d of conversation %s; releasing without them",
                    after + 1,
                    upto - 1,
                    conversation,
                    exc_info=True,
                )
                frames = []
        if self._streams.get(conversation) is not stream:
            return  # forgotten (or dropped for room) meanwhile
        stream.fill = None
        for seq, frame in frames:
            if stream.last < seq < upto and seq not in stream.held:
                stream.held[seq] = events.message_new_event(conversation, seq, frame)
        self._release_through(stream, upto)
        if stream.held and stream.timer is None:
            # A later gap, opened while this one was read: its own hold.
            self._start_hold(conversation, stream)

    # --- Bookkeeping ----------------------------------------------------------

    def _track(self, conversation: str, stream: _Stream) -> None:
        self._streams[conversation] = stream
        while len(self._streams) > self._max_conversations:
            _, oldest = self._streams.popitem(last=False)
            oldest.stop()
            self._release_through(oldest, max(oldest.held, default=oldest.last))

    def _emit(self, event: dict) -> None:
        try:
            self._release(event)
        except Exception:
            # One failed fan-out must not stall the conversation's order.
            logger.exception("Could not release %s", event.get("type"))
