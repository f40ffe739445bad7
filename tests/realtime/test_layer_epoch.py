"""The channel layer's ``live_epoch`` per group, on a private Redis killed
and started again: None while the Redis that carries the group is failed,
a new number once it is back, so the handover can tell a ``message.new``
handed over before or during an outage from one handed over after it
(``messaging.realtime.handover``)."""

import asyncio

import pytest

from messaging.realtime.layer import ResilientPubSubChannelLayer
from tests.faults.redis_server import PrivateRedis

pytestmark = pytest.mark.services


@pytest.fixture
def private_redis():
    server = PrivateRedis()
    yield server
    server.stop()


def test_a_group_s_epoch_is_none_while_its_redis_is_down_and_new_after(private_redis):
    async def scenario():
        loop = asyncio.get_running_loop()
        layer = ResilientPubSubChannelLayer(
            hosts=[{"address": private_redis.url, "socket_timeout": 2}], prefix="epoch-test"
        )
        try:
            await layer.group_send("conv.a", {"type": "t"})
            before = layer.live_epoch("conv.a", loop)

            await asyncio.to_thread(private_redis.kill)
            await layer.group_send("conv.a", {"type": "t"})  # fails: the outage is seen
            during = layer.live_epoch("conv.a", loop)

            await asyncio.to_thread(private_redis.start)
            await layer.resubscribe()
            after = layer.live_epoch("conv.a", loop)
            return before, during, after
        finally:
            await layer.flush()

    before, during, after = asyncio.run(asyncio.wait_for(scenario(), 30))
    assert before == 0
    assert during is None
    assert after is not None and after != before


def test_without_a_loop_layer_yet_nothing_is_failed():
    layer = ResilientPubSubChannelLayer(hosts=[{"address": "redis://127.0.0.1:1/0"}])
    loop = asyncio.new_event_loop()
    try:
        assert layer.live_epoch("conv.a", loop) == 0
    finally:
        loop.close()
