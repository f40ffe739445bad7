"""channels-redis's pub/sub channel layer, made to ride out a Redis outage.

The stock layer raises from ``new_channel`` and ``group_add`` when Redis is
away, so a socket could not even open, and it never subscribes again what
failed. Here a channel or group is registered in this process at once and
subscribed when Redis answers: while it does not, sockets open, join and
relay what this process publishes locally to no one (live delivery is
degraded, docs/protocol.md ``degraded``), and ``resubscribe()`` (called by
``messaging.realtime.maintenance`` when Redis is back) subscribes every
channel and group this process serves on a fresh connection.

Sharded over several Redis servers (``CHANNEL_LAYER_REDIS_URLS``), only the
shards that failed are connected and subscribed again, once they answer:
the others keep their connections, so the groups on them go on delivering
live while one shard is away.

Publishing while Redis is away drops the event (an event is a hint; the
record is in PostgreSQL, and clients told ``degraded`` resume from it).
Publishes go through the server's circuit (``config.redis_circuit``):
moments after one failed, the next fail at once, so a send waits out the
socket timeout for a shard at most once, not once per queued publish.
"""

import asyncio
import logging
import uuid

from channels_redis.pubsub import (
    RedisPubSubChannelLayer,
    RedisPubSubLoopLayer,
    RedisSingleShardConnection,
)
from channels_redis.utils import _close_redis, _wrap_close, decode_hosts

from config.redis_circuit import CircuitOpen, circuit_for
from messaging.realtime import health
from messaging.realtime.backends.redis import REDIS_FAULTS

logger = logging.getLogger(__name__)


class _Shard(RedisSingleShardConnection):
    """One Redis connection of the layer, which reports an outage to
    ``health`` and can be retired without being waited on."""

    def __init__(self, host, channel_layer, *, outages: int = 0):
        super().__init__(host, channel_layer)
        self._retired = False
        # A call to this Redis failed: its subscriptions may be gone.
        self.failed = False
        # Outages of this Redis so far (carried to the shard that replaces
        # this one): what ``live_epoch`` tells apart.
        self.outages = outages
        self.circuit = circuit_for(host.get("address") or repr(sorted(host.items())))

    def mark_failed(self, what: str, error: BaseException) -> None:
        """A call to this Redis failed: its subscriptions may be gone, and
        the process is degraded (``health``)."""
        if not self.failed:
            self.failed = True
            self.outages += 1
        health.report_failure(what, error)

    async def publish(self, channel, message):
        """The stock publish, through the circuit; checked once the lock is
        taken, so publishes queued behind one that timed out fail at once."""
        async with self._lock:
            with self.circuit.guarded(REDIS_FAULTS):
                self._ensure_redis()
                # (Set by _ensure_redis; mypy only sees retire() assign it None.)
                await self._redis.publish(channel, message)  # type: ignore[attr-defined]

    async def _do_receiving(self):
        """The stock receive loop, which reports an outage once (``health``)
        instead of logging a traceback every second of it, and ends once
        the shard is retired."""
        while not self._retired:
            try:
                if self._pubsub and self._pubsub.subscribed:
                    message = await self._pubsub.get_message(
                        ignore_subscribe_messages=True, timeout=0.1
                    )
                    self._receive_message(message)
                else:
                    await asyncio.sleep(0.1)
            except (asyncio.CancelledError, GeneratorExit):
                raise
            except REDIS_FAULTS as error:
                self.mark_failed("channel layer", error)
                await asyncio.sleep(1)
            except Exception:
                logger.exception("Unexpected exception in the channel layer's receive task")
                await asyncio.sleep(1)

    async def ping(self) -> None:
        """One bounded call to this Redis; raises ``REDIS_FAULTS`` while it
        cannot answer. A probe: it goes whatever the circuit says, and only
        its answer counts (no fault is counted against the circuit)."""
        async with self._lock:
            with self.circuit.guarded((), probe=True):
                self._ensure_redis()
                # (Set by _ensure_redis; mypy only sees retire() assign it None.)
                await self._redis.ping()  # type: ignore[attr-defined]

    def retire(self) -> None:
        """Stop receiving and close the connection in the background.

        The stock ``flush()`` awaits the cancelled receive task, and a task
        cancelled inside redis-py's reconnect after a Redis restart may never
        finish: the process would never subscribe again (seen in
        tests/faults/test_redis_outage.py). Nothing here is awaited."""
        self._retired = True
        # (channels-redis is untyped: mypy cannot see its attributes' types.)
        task = self._receive_task  # type: ignore[has-type]
        if task is not None:
            task.cancel()
            self._receive_task = None
        connection = self._redis  # type: ignore[has-type]
        self._redis = self._pubsub = None
        self._subscribed_to.clear()
        if connection is not None:
            closing = asyncio.ensure_future(_close_quietly(connection))
            _closing.add(closing)
            closing.add_done_callback(_closing.discard)


# Connections being closed in the background (a reference keeps each task
# alive until it ends).
_closing: "set[asyncio.Future]" = set()


async def _close_quietly(connection) -> None:
    try:
        await _close_redis(connection)
    except Exception:
        logger.debug("Closing a broken pub/sub connection failed", exc_info=True)


class ResilientPubSubLoopLayer(RedisPubSubLoopLayer):
    def __init__(self, hosts=None, *args, **kwargs):
        super().__init__(hosts, *args, **kwargs)
        self._hosts = decode_hosts(hosts)
        self._shards = [_Shard(host, self) for host in self._hosts]

    async def _try_subscribe(self, name: str) -> None:
        shard = self._get_shard(name)
        try:
            await shard.subscribe(name)
        except REDIS_FAULTS as error:
            shard.mark_failed("channel layer", error)

    async def _subscribe_to_channel(self, channel):
        self.channels.setdefault(channel, asyncio.Queue())
        await self._try_subscribe(channel)

    async def new_channel(self, prefix="specific."):
        channel = f"{self.prefix}{prefix}{uuid.uuid4().hex}"
        await self._subscribe_to_channel(channel)
        return channel

    async def group_add(self, group, channel):
        if channel not in self.channels:
            raise RuntimeError("group_add() needs a channel of this process.")
        group_channel = self._get_group_channel_name(group)
        self.groups.setdefault(group_channel, set()).add(channel)
        await self._try_subscribe(group_channel)

    async def group_discard(self, group, channel):
        try:
            await super().group_discard(group, channel)
        except REDIS_FAULTS as error:
            self._get_shard(self._get_group_channel_name(group)).mark_failed("channel layer", error)

    async def group_send(self, group, message):
        try:
            await super().group_send(group, message)
        except CircuitOpen as error:
            # Not tried: the shard keeps its connection and subscriptions.
            health.report_failure("channel layer", error)
        except REDIS_FAULTS as error:
            # The event is lost, as a hint may be: the outage is logged once
            # and every socket is told (``degraded``), rather than a
            # traceback per event.
            self._get_shard(self._get_group_channel_name(group)).mark_failed("channel layer", error)

    def live_epoch(self, group: str) -> int | None:
        """None while the Redis that carries ``group`` is failed; otherwise
        a number that changes once it fails again (``messaging.realtime.
        handover``: a message handed over in between is not published)."""
        shard = self._get_shard(self._get_group_channel_name(group))
        return None if shard.failed else shard.outages

    async def resubscribe(self) -> None:
        """On each shard that failed and answers again, subscribe everything
        this process serves there again, on a new connection (a restarted
        Redis has forgotten every subscription). A shard that still does not
        answer costs one bounded call and is tried again at the next call.
        Shards that did not fail are left alone: replacing their connections
        would drop the events published to them meanwhile."""
        for index, shard in enumerate(self._shards):
            if not shard.failed:
                continue
            fresh = _Shard(shard.host, self, outages=shard.outages)
            try:
                await fresh.ping()
            except REDIS_FAULTS as error:
                fresh.retire()
                health.report_failure("channel layer", error)
                continue
            self._shards[index] = fresh
            shard.retire()
            for name in [*self.channels, *self.groups]:
                if self._get_shard(name) is fresh:
                    await self._try_subscribe(name)


class ResilientPubSubChannelLayer(RedisPubSubChannelLayer):
    """``RedisPubSubChannelLayer`` with ``ResilientPubSubLoopLayer`` per loop."""

    def _get_layer(self):
        loop = asyncio.get_running_loop()
        try:
            return self._layers[loop]
        except KeyError:
            layer = ResilientPubSubLoopLayer(*self._args, **self._kwargs, channel_layer=self)
            self._layers[loop] = layer
            _wrap_close(self, loop)
            return layer

    async def resubscribe(self) -> None:
        await self._get_layer().resubscribe()

    def live_epoch(self, group: str, loop: asyncio.AbstractEventLoop) -> int | None:
        """``ResilientPubSubLoopLayer.live_epoch`` of ``loop``'s layer; from
        any thread (the send's, as it hands its publish over)."""
        layer = self._layers.get(loop)
        return 0 if layer is None else layer.live_epoch(group)
