"""A server's database threads hand their publishes to the event loop and go
on: the thread does not wait for the loop, what one thread hands over
leaves in that order, and a queue the layer cannot drain holds the threads
back instead of growing."""

import asyncio
import threading

import pytest
from asgiref.sync import sync_to_async
from channels.layers import InMemoryChannelLayer

from messaging import events
from messaging.realtime import handover


def _run(coroutine):
    return asyncio.run(asyncio.wait_for(coroutine, 20))


def test_a_thread_hands_over_without_waiting_and_in_order():
    async def scenario():
        loop = asyncio.get_running_loop()
        sent: list[str] = []
        gate = asyncio.Event()

        async def group_send(group, message):
            await gate.wait()  # the layer is slow: nothing leaves until the gate opens
            sent.append(message["n"])

        box = handover.Handover(loop, group_send)
        handed = threading.Event()

        def in_a_thread():
            for n in ("a", "b", "c"):
                box.hand("conv.x", {"type": "t", "n": n})
            handed.set()

        await asyncio.to_thread(in_a_thread)
        # The thread came back while nothing could be sent yet.
        assert handed.is_set() and sent == []
        gate.set()
        for _ in range(1000):  # until done; the overall bound is _run's
            if len(sent) == 3:
                break
            await asyncio.sleep(0.01)
        return sent

    assert _run(scenario()) == ["a", "b", "c"]


def test_a_failed_publish_does_not_stop_the_ones_after_it():
    async def scenario():
        loop = asyncio.get_running_loop()
        sent: list[str] = []

        async def group_send(group, message):
            if message["n"] == "b":
                raise ConnectionError("the layer is away")
            sent.append(message["n"])

        box = handover.Handover(loop, group_send)
        await asyncio.to_thread(lambda: [box.hand("g", {"n": n}) for n in "abc"])
        for _ in range(1000):  # until done; the overall bound is _run's
            if len(sent) == 2:
                break
            await asyncio.sleep(0.01)
        return sent

    assert _run(scenario()) == ["a", "c"]


def test_past_its_bound_a_thread_waits_for_its_own_publish(monkeypatch):
    """Back-pressure, not loss: over the bound, the thread that hands over
    waits until its message is sent, as every publish once did."""
    monkeypatch.setattr(handover, "MAX_PENDING_BYTES", 10)

    async def scenario():
        loop = asyncio.get_running_loop()
        gate = asyncio.Event()
        entered = asyncio.Event()
        sent: list[str] = []

        async def group_send(group, message):
            entered.set()
            await gate.wait()
            sent.append(message["frame"])

        box = handover.Handover(loop, group_send)
        finished = threading.Event()

        def in_a_thread():
            box.hand("g", {"frame": "aaaaaaaa"})  # 8 bytes: within the bound
            box.hand("g", {"frame": "bbbbbbbb"})  # 16 pending: waits until sent
            finished.set()

        thread = asyncio.ensure_future(asyncio.to_thread(in_a_thread))
        await entered.wait()  # the first is being sent, and cannot finish
        while not box.waited:  # so the second finds the queue over its bound
            await asyncio.sleep(0.01)
        assert not finished.is_set()
        gate.set()
        await thread
        return sent, box.pending_bytes

    assert _run(scenario()) == (["aaaaaaaa", "bbbbbbbb"], 0)


def test_a_waiting_thread_never_hangs(monkeypatch):
    monkeypatch.setattr(handover, "MAX_PENDING_BYTES", 0)
    monkeypatch.setattr(handover, "MAX_WAIT_SECONDS", 0.2)

    async def scenario():
        loop = asyncio.get_running_loop()

        async def group_send(group, message):
            await asyncio.Event().wait()  # the layer never answers

        box = handover.Handover(loop, group_send)
        await asyncio.to_thread(box.hand, "g", {"frame": "x"})
        return box.waited

    assert _run(scenario()) == 1


def test_the_loop_itself_never_waits_for_itself(monkeypatch):
    monkeypatch.setattr(handover, "MAX_PENDING_BYTES", 0)

    async def scenario():
        loop = asyncio.get_running_loop()
        sent: list[str] = []

        async def group_send(group, message):
            sent.append(message["frame"])

        box = handover.Handover(loop, group_send)
        box.hand("g", {"frame": "from the loop"})  # over the bound, on the loop
        for _ in range(1000):  # until done; the overall bound is _run's
            if sent:
                break
            await asyncio.sleep(0.01)
        return sent, box.waited

    assert _run(scenario()) == (["from the loop"], 0)


@pytest.mark.django_db(transaction=True)
def test_publish_on_commit_in_a_server_thread_is_handed_over(monkeypatch):
    """The service's publish, from a ``sync_to_async`` thread, reaches the
    layer through the loop's handover, not ``async_to_sync``."""
    layer = InMemoryChannelLayer()
    monkeypatch.setattr(events, "get_channel_layer", lambda: layer)
    monkeypatch.setattr(
        events, "async_to_sync", lambda *a, **k: pytest.fail("the thread waited for the loop")
    )

    def service():
        for n in range(3):
            frame = {"type": "message.new", "message": {"seq": n + 1}}
            events.publish_on_commit("conv.abc", frame)

    async def scenario():
        channel = await layer.new_channel()
        await layer.group_add("conv.abc", channel)
        await sync_to_async(service)()
        return [await layer.receive(channel) for _ in range(3)]

    received = _run(scenario())
    assert [m["seq"] for m in received] == [1, 2, 3]


class _Redis:
    """The live epoch of a group's Redis, as the channel layer reports it
    (``live_epoch``): None while failed, a number that changes per outage."""

    def __init__(self):
        self.outages = 0
        self.failed = False

    def live_epoch(self, loop, group):
        return None if self.failed else self.outages

    def fail(self):
        self.failed, self.outages = True, self.outages + 1

    def recover(self):
        self.failed = False


def _handed_through(redis: _Redis, outage) -> list[str]:
    """What leaves the handover of a ``message.new`` (``m``) and an edit
    (``e``) handed over by a thread, then ``outage()`` before the loop takes
    them."""

    async def scenario():
        loop = asyncio.get_running_loop()
        sent: list[str] = []
        gate = threading.Event()  # set once the thread is done

        async def group_send(group, message):
            sent.append(message["n"])

        box = handover.Handover(loop, group_send, redis.live_epoch)

        def in_a_thread():
            box.hand("conv.x", {"type": "message_new", "n": "m"})
            box.hand("conv.x", {"type": "message_edited", "n": "e"})
            outage()
            gate.set()

        # The loop is held until the thread is done: nothing is sent before.
        loop.call_soon(gate.wait, 10)
        await asyncio.to_thread(in_a_thread)
        for _ in range(1000):  # until done; the overall bound is _run's
            if not box._pending and box._task is None:
                break
            await asyncio.sleep(0.01)
        return sent + [f"dropped {box.dropped}"]

    return _run(scenario())


def test_a_message_of_an_outage_is_resumed_not_published():
    """docs/protocol.md: the messages an outage held back come in the
    resume's history, not as ``message.new``. One handed over while its
    group's Redis is down is not published; other events still are."""
    redis = _Redis()
    redis.fail()
    assert _handed_through(redis, lambda: None) == ["e", "dropped 1"]


def test_a_message_overtaken_by_an_outage_is_not_published_late():
    """Handed over while live, but its Redis failed (and even came back)
    before the loop sent it: the sockets were told and resume it, so it is
    not published once Redis is back."""
    redis = _Redis()

    def outage_and_recovery():
        redis.fail()
        redis.recover()

    assert _handed_through(redis, outage_and_recovery) == ["e", "dropped 1"]


def test_without_an_outage_a_message_is_published():
    """Live, or after an outage that ended before it was handed over."""
    redis = _Redis()
    assert _handed_through(redis, lambda: None) == ["m", "e", "dropped 0"]
    redis.fail()
    redis.recover()
    assert _handed_through(redis, lambda: None) == ["m", "e", "dropped 0"]
