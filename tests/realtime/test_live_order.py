"""LiveOrder (messaging.realtime.ordering): a conversation's ``message.new``
events leave in seq order, each once; an early one waits for the hold, then
the gap is read from PostgreSQL; other events wait behind held messages.

Time is a FakeClock: a hold expires when the test advances it, never by
waiting. A fill the test controls is an asyncio future it resolves."""

import asyncio
import json
import uuid

import pytest
from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer

from messaging import events, services
from messaging.errors import ServiceUnavailable
from messaging.models import ConversationType
from messaging.realtime import selectors
from messaging.realtime.database import db
from messaging.realtime.ordering import LiveOrder

HOLD = 0.15
CONVERSATION = uuid.uuid4().hex
OTHER_CONVERSATION = uuid.uuid4().hex

orm = sync_to_async


def new(seq: int, conversation: str = CONVERSATION) -> dict:
    """A ``message.new`` layer message as events.publish sends it."""
    frame = json.dumps({"type": "message.new", "message": {"seq": seq}})
    return {"type": "message_new", "frame": frame, "conversation": conversation, "seq": seq}


def other(kind: str, tag: str, conversation: str = CONVERSATION) -> dict:
    """Any other conversation event (an edit, a receipt, typing…)."""
    frame = json.dumps({"type": kind.replace("_", "."), "tag": tag})
    return {"type": kind, "frame": frame, "conversation": conversation}


class Released:
    """The hub's fan-out: records what LiveOrder releases, in order."""

    def __init__(self) -> None:
        self.events: list[dict] = []
        self._changed = asyncio.Event()

    def __call__(self, event: dict) -> None:
        self.events.append(event)
        self._changed.set()

    def seqs(self, conversation: str = CONVERSATION) -> list:
        return [
            e.get("seq", e["type"] if "tag" not in e["frame"] else json.loads(e["frame"])["tag"])
            for e in self.events
            if e.get("conversation") == conversation
        ]

    async def until(self, count: int) -> None:
        """Wait until ``count`` events have been released (bounded: a
        release that never comes fails the test instead of hanging it)."""
        async with asyncio.timeout(10):
            while len(self.events) < count:
                self._changed.clear()
                await self._changed.wait()


class ControlledFill:
    """A fill the test answers: each call waits for ``answer``/``fail``."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, int, int]] = []
        self._pending: list[asyncio.Future] = []
        self._called = asyncio.Event()

    async def __call__(self, conversation: str, after: int, before: int):
        self.calls.append((conversation, after, before))
        future = asyncio.get_running_loop().create_future()
        self._pending.append(future)
        self._called.set()
        return await future

    async def called(self, times: int = 1) -> tuple[str, int, int]:
        async with asyncio.timeout(10):
            while len(self.calls) < times:
                self._called.clear()
                await self._called.wait()
        return self.calls[times - 1]

    def answer(self, seqs) -> None:
        self._pending.pop(0).set_result([(s, new(s)["frame"]) for s in seqs])

    def fail(self) -> None:
        self._pending.pop(0).set_exception(ServiceUnavailable())


async def spin() -> None:
    """Let every ready task run (nothing here waits on time)."""
    for _ in range(20):
        await asyncio.sleep(0)


@pytest.fixture
def released():
    return Released()


@pytest.fixture
def fill():
    return ControlledFill()


@pytest.fixture
async def order(released, fill, fake_clock):
    live = LiveOrder(released, fill=fill, hold_seconds=HOLD)
    yield live
    await live.close()


# --- In order, at once ----------------------------------------------------------


async def test_in_order_messages_leave_at_once(order, released):
    for seq in (7, 8, 9, 10):  # the first one seen sets the cursor
        order.offer(new(seq))
        assert released.seqs()[-1] == seq
    assert released.seqs() == [7, 8, 9, 10]


async def test_events_outside_a_conversation_and_first_events_leave_at_once(order, released):
    order.offer({"type": "notification_new", "frame": "{}"})
    order.offer(other("typing", "first"))  # no cursor yet: nothing to wait for
    order.offer(new(3, OTHER_CONVERSATION))
    assert [e["type"] for e in released.events] == ["notification_new", "typing", "message_new"]


# --- Held, then released ---------------------------------------------------------


async def test_an_early_message_waits_for_the_missing_one(order, released, fill, fake_clock):
    order.offer(new(1))
    order.offer(new(3))
    order.offer(new(4))
    assert released.seqs() == [1]
    fake_clock.advance(HOLD / 2)
    await spin()
    assert released.seqs() == [1] and not fill.calls
    order.offer(new(2))
    assert released.seqs() == [1, 2, 3, 4]
    # The gap closed before the hold ended: nothing is read.
    fake_clock.advance(HOLD)
    await spin()
    assert not fill.calls


async def test_conversations_are_ordered_apart(order, released):
    order.offer(new(1))
    order.offer(new(1, OTHER_CONVERSATION))
    order.offer(new(3))
    order.offer(new(2, OTHER_CONVERSATION))  # not held up by the other's gap
    assert released.seqs(OTHER_CONVERSATION) == [1, 2]
    assert released.seqs() == [1]


async def test_duplicates_are_dropped(order, released):
    for seq in (1, 2, 2, 1, 4, 4, 3, 3, 2, 5):
        order.offer(new(seq))
    assert released.seqs() == [1, 2, 3, 4, 5]


# --- Gap filled after the hold ---------------------------------------------------


async def test_a_gap_is_filled_after_the_hold(order, released, fill, fake_clock):
    order.offer(new(1))
    order.offer(new(4))
    order.offer(new(6))
    fake_clock.advance(HOLD)
    assert await fill.called() == (CONVERSATION, 1, 6)
    fill.answer([2, 3, 5])
    await released.until(6)
    assert released.seqs() == [1, 2, 3, 4, 5, 6]
    order.offer(new(3))  # the late original: a duplicate now
    order.offer(new(7))
    assert released.seqs() == [1, 2, 3, 4, 5, 6, 7]


async def test_a_seq_the_database_lacks_is_skipped(order, released, fill, fake_clock):
    order.offer(new(1))
    order.offer(new(4))
    fake_clock.advance(HOLD)
    await fill.called()
    fill.answer([3])  # 2 is gone (purged)
    await released.until(3)
    assert released.seqs() == [1, 3, 4]


async def test_a_new_gap_opened_during_a_fill_gets_its_own_hold(order, released, fill, fake_clock):
    order.offer(new(1))
    order.offer(new(3))
    fake_clock.advance(HOLD)
    await fill.called()
    order.offer(new(6))  # arrives while 2 is being read
    fill.answer([2])
    await released.until(3)
    assert released.seqs() == [1, 2, 3]
    fake_clock.advance(HOLD)
    assert await fill.called(2) == (CONVERSATION, 3, 6)
    fill.answer([4, 5])
    await released.until(6)
    assert released.seqs() == [1, 2, 3, 4, 5, 6]


async def test_a_failed_fill_still_releases_in_order(order, released, fill, fake_clock):
    order.offer(new(1))
    order.offer(new(5))
    order.offer(new(3))
    order.offer(other("message_edited", "edit of 5"))
    fake_clock.advance(HOLD)
    await fill.called()
    fill.fail()
    await released.until(4)
    assert released.seqs() == [1, 3, 5, "edit of 5"]
    order.offer(new(2))  # too late: the client's own gap check recovers it
    order.offer(new(6))
    assert released.seqs() == [1, 3, 5, "edit of 5", 6]


# --- One gap read at a time ---------------------------------------------------------


async def test_gaps_are_read_one_at_a_time(order, released, fill, fake_clock):
    for conversation in (CONVERSATION, OTHER_CONVERSATION):
        order.offer(new(1, conversation))
        order.offer(new(3, conversation))
    fake_clock.advance(HOLD)
    assert await fill.called() == (CONVERSATION, 1, 3)
    await spin()
    assert len(fill.calls) == 1  # the other gap waits for its turn
    fill.answer([2])
    assert await fill.called(2) == (OTHER_CONVERSATION, 1, 3)
    fill.answer([2])
    await released.until(6)
    assert released.seqs() == released.seqs(OTHER_CONVERSATION) == [1, 2, 3]


async def test_a_gap_closed_while_waiting_for_its_turn_is_not_read(
    order, released, fill, fake_clock
):
    for conversation in (CONVERSATION, OTHER_CONVERSATION):
        order.offer(new(1, conversation))
        order.offer(new(3, conversation))
    fake_clock.advance(HOLD)
    await fill.called()
    order.offer(new(2, OTHER_CONVERSATION))  # the missing one arrives meanwhile
    assert released.seqs(OTHER_CONVERSATION) == [1, 2, 3]
    fill.answer([2])
    await released.until(6)
    await spin()
    assert len(fill.calls) == 1


async def test_a_later_gap_found_at_its_turn_gets_its_own_hold(order, released, fill, fake_clock):
    for conversation in (CONVERSATION, OTHER_CONVERSATION):
        order.offer(new(1, conversation))
        order.offer(new(3, conversation))
    fake_clock.advance(HOLD)
    await fill.called()
    order.offer(new(2, OTHER_CONVERSATION))
    order.offer(new(5, OTHER_CONVERSATION))  # a new gap, younger than the hold
    fill.answer([2])
    await released.until(6)
    await spin()
    assert len(fill.calls) == 1 and released.seqs(OTHER_CONVERSATION) == [1, 2, 3]
    order.offer(new(4, OTHER_CONVERSATION))  # within its own hold: nothing read
    assert released.seqs(OTHER_CONVERSATION) == [1, 2, 3, 4, 5]
    order.offer(new(7, OTHER_CONVERSATION))
    fake_clock.advance(HOLD)
    assert await fill.called(2) == (OTHER_CONVERSATION, 5, 7)


# --- Other events behind held messages ---------------------------------------------


async def test_other_events_wait_behind_held_messages(order, released):
    order.offer(new(1))
    order.offer(other("message_edited", "edit of 1"))  # nothing held: at once
    order.offer(new(3))
    order.offer(other("message_edited", "edit of 3"))
    order.offer(other("reaction_added", "reaction on 3"))
    order.offer(other("typing", "typing", OTHER_CONVERSATION))  # another conversation
    assert released.seqs() == [1, "edit of 1"]
    assert released.seqs(OTHER_CONVERSATION) == ["typing"]
    order.offer(new(2))
    assert released.seqs() == [1, "edit of 1", 2, 3, "edit of 3", "reaction on 3"]


async def test_other_events_leave_once_the_messages_before_them_have(order, released):
    order.offer(new(1))
    order.offer(new(3))
    order.offer(other("message_deleted", "delete of 3"))
    order.offer(new(5))
    order.offer(other("message_edited", "edit of 5"))
    order.offer(new(2))
    # 3 is out, so its deletion is; 5 still waits for 4, and so does its edit.
    assert released.seqs() == [1, 2, 3, "delete of 3"]
    order.offer(new(4))
    assert released.seqs() == [1, 2, 3, "delete of 3", 4, 5, "edit of 5"]


# --- Bounds ------------------------------------------------------------------------


async def test_too_many_held_reads_the_gap_at_once_then_stops_holding(released, fill, fake_clock):
    order = LiveOrder(released, fill=fill, hold_seconds=HOLD, max_held=3)
    try:
        order.offer(new(1))
        for seq in (3, 4, 5):
            order.offer(new(seq))
        await spin()
        assert not fill.calls  # within the bound: still holding
        order.offer(new(6))
        assert await fill.called() == (CONVERSATION, 1, 6)  # no hold to wait out
        for seq in (8, 9, 10):  # more still while it is read: stop holding
            order.offer(new(seq))
        assert released.seqs() == [1, 3, 4, 5, 6, 8, 9, 10]
        order.offer(new(11))
        order.offer(new(2))
        assert released.seqs() == [1, 3, 4, 5, 6, 8, 9, 10, 11]
    finally:
        await order.close()


async def test_conversations_tracked_are_bounded(released, fill, fake_clock):
    order = LiveOrder(released, fill=fill, hold_seconds=HOLD, max_conversations=2)
    first, second, third = (uuid.uuid4().hex for _ in range(3))
    try:
        order.offer(new(1, first))
        order.offer(new(3, first))  # held
        order.offer(new(1, second))
        order.offer(new(1, third))  # the least recently active (first) goes...
        assert released.seqs(first) == [1, 3]  # ...releasing what it held, in order
        order.offer(new(1, second))  # still tracked: a duplicate
        order.offer(new(1, third))
        assert released.seqs(second) == [1] and released.seqs(third) == [1]
        order.offer(new(2, first))  # no cursor any more: a first event again
        assert released.seqs(first) == [1, 3, 2]
    finally:
        await order.close()


async def test_forget_drops_what_is_held(order, released, fill, fake_clock):
    order.offer(new(1))
    order.offer(new(3))
    order.forget(CONVERSATION)
    fake_clock.advance(HOLD)
    await spin()
    assert released.seqs() == [1] and not fill.calls
    order.offer(new(9))  # a fresh start
    assert released.seqs() == [1, 9]


async def test_restart_after_an_outage_reads_no_gap_and_keeps_what_was_held(
    order, released, fill, fake_clock
):
    """Live delivery is back after an outage: the sockets resume what they
    missed from PostgreSQL, so the first message after it is released at
    once and the outage's messages are not read a second time."""
    order.offer(new(1))
    order.offer(new(2, OTHER_CONVERSATION))
    order.offer(new(3))  # held behind 2
    order.restart()
    assert released.seqs() == [1, 3]  # what was held leaves, in order
    order.offer(new(40))  # 4..39 came while Redis was away
    order.offer(new(41))
    order.offer(new(9, OTHER_CONVERSATION))
    fake_clock.advance(HOLD)
    await spin()
    assert released.seqs() == [1, 3, 40, 41]
    assert released.seqs(OTHER_CONVERSATION) == [2, 9]
    assert not fill.calls
    order.offer(new(43))  # a gap after the restart is read as ever
    fake_clock.advance(HOLD)
    assert await fill.called() == (CONVERSATION, 41, 43)


async def test_close_stops_timers_and_fills(released, fill, fake_clock):
    order = LiveOrder(released, fill=fill, hold_seconds=HOLD, concurrent_fills=2)
    order.offer(new(1))
    order.offer(new(3))
    order.offer(new(1, OTHER_CONVERSATION))
    order.offer(new(3, OTHER_CONVERSATION))
    fake_clock.advance(HOLD)
    await fill.called(2)
    order.offer(new(5, OTHER_CONVERSATION))
    await order.close()
    fake_clock.advance(HOLD)
    await spin()
    assert released.seqs() == [1] and released.seqs(OTHER_CONVERSATION) == [1]
    assert len(fill.calls) == 2


# --- The real fill: rows stored by the services, read from PostgreSQL --------------


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
async def test_the_gap_is_read_from_postgresql_as_published(released, fake_clock, assigned):
    """Messages stored by the services, their ``message.new`` captured from
    the channel layer as the hub would receive them: 1 and 5 arrive, 2-4
    (one of them a thread-only reply, which takes a seq too) do not; after
    the hold LiveOrder reads them and releases exactly the frames the sends
    published, in order."""
    mentor, student = assigned
    conversation = await orm(services.create_conversation)(
        creator=mentor, kind=ConversationType.GROUP, participants=[student], title="Order"
    )
    group = events.conversation_group(conversation.pk)
    layer = get_channel_layer()
    channel = await layer.new_channel()
    await layer.group_add(group, channel)
    try:

        def send(content: str, **kwargs):
            return services.send_message(
                sender=student,
                conversation_id=conversation.pk,
                content=content,
                client_id=uuid.uuid4(),
                **kwargs,
            ).message

        root = await orm(send)("one")
        await orm(send)("two")
        await orm(send)("in the thread only", parent_id=root.pk)
        await orm(send)("four")
        await orm(send)("five")
        published = []
        async with asyncio.timeout(10):
            while len(published) < 5:
                event = await layer.receive(channel)
                if event["type"] == "message_new":
                    published.append(event)
    finally:
        await layer.group_discard(group, channel)
    assert [e["seq"] for e in published] == [1, 2, 3, 4, 5]

    order = LiveOrder(released, hold_seconds=HOLD)  # the production fill
    try:
        order.offer(published[0])
        order.offer(published[4])
        assert released.seqs(conversation.pk.hex) == [1]
        fake_clock.advance(HOLD)
        await released.until(5)
        assert released.events == published
        reply = json.loads(released.events[2]["frame"])["message"]
        assert reply["content"] == "in the thread only"
    finally:
        await order.close()
    # One read is a page at most: the lowest seqs of the gap.
    lowest = await db(selectors.message_new_frames)(
        conversation.pk, after_seq=1, before_seq=5, limit=2
    )
    assert lowest == [(e["seq"], e["frame"]) for e in published[1:3]]
