"""A server's database threads hand their publishes to the event loop and go
on: the thread never waits for the loop, what one thread hands over leaves
in that order, and a queue the layer cannot drain is bounded."""

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
        for _ in range(50):
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
        for _ in range(50):
            if len(sent) == 2:
                break
            await asyncio.sleep(0.01)
        return sent

    assert _run(scenario()) == ["a", "c"]


def test_the_queue_is_bounded(monkeypatch):
    monkeypatch.setattr(handover, "MAX_PENDING", 2)

    async def scenario():
        loop = asyncio.get_running_loop()
        gate = asyncio.Event()
        sent: list[str] = []

        async def group_send(group, message):
            await gate.wait()
            sent.append(message["n"])

        box = handover.Handover(loop, group_send)
        # Handed from the loop's own thread: all four are queued before the
        # sending task first runs, so two fit and two are dropped.
        for n in "abcd":
            box.hand("g", {"n": n})
        await asyncio.sleep(0.05)
        gate.set()
        for _ in range(50):
            if len(sent) >= 2:
                break
            await asyncio.sleep(0.01)
        return sent, box.dropped

    assert _run(scenario()) == (["a", "b"], 2)


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
