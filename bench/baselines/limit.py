"""The ``limit`` baseline: a raw ``websockets`` server fanning out through
Redis pub/sub. No framework, no storage, no auth.

Each process subscribes to the Redis channel of every room one of its
sockets has joined. A send is one PUBLISH of the finished frame; each
process writes that frame, unchanged, to its local members. This is about
as little work per delivery as Python can do, so it marks the ceiling.

Run: ``python -m bench.baselines.limit --port 9001 --redis redis://127.0.0.1:6379/13``
"""

import argparse
import asyncio
import json
import signal

import redis.asyncio as aioredis
from websockets.asyncio.server import broadcast, serve


class Relay:
    def __init__(self, redis_url: str, prefix: str):
        self.redis = aioredis.from_url(redis_url)
        self.pubsub = self.redis.pubsub(ignore_subscribe_messages=True)
        self.prefix = prefix
        self.outbox: asyncio.Queue = asyncio.Queue()
        self.members: dict[str, set] = {}  # room -> local sockets

    def channel(self, room: str) -> str:
        return f"{self.prefix}:{room}"

    async def join(self, ws, rooms: list[str]) -> None:
        new = []
        for room in rooms:
            members = self.members.setdefault(room, set())
            if not members:
                new.append(self.channel(room))
            members.add(ws)
        if new:
            await self.pubsub.subscribe(*new)

    async def leave(self, ws, rooms: list[str]) -> None:
        gone = []
        for room in rooms:
            members = self.members.get(room)
            if members is None:
                continue
            members.discard(ws)
            if not members:
                del self.members[room]
                gone.append(self.channel(room))
        if gone:
            await self.pubsub.unsubscribe(*gone)

    async def fan_out(self) -> None:
        # A standing subscription keeps listen() from ending when the last
        # room is left.
        await self.pubsub.subscribe(f"{self.prefix}:-control")
        cut = len(self.prefix) + 1
        async for item in self.pubsub.listen():
            if item["type"] != "message":
                continue
            members = self.members.get(item["channel"][cut:].decode())
            if members:
                broadcast(members, item["data"].decode())

    async def publish(self) -> None:
        """One connection publishes everything, pipelining what has queued
        up meanwhile: no pool to exhaust, one round trip per batch."""
        while True:
            batch = [await self.outbox.get()]
            while not self.outbox.empty() and len(batch) < 1000:
                batch.append(self.outbox.get_nowait())
            async with self.redis.pipeline(transaction=False) as pipe:
                for channel, out in batch:
                    pipe.publish(channel, out)
                await pipe.execute()

    async def handler(self, ws) -> None:
        rooms: list[str] = []
        try:
            async for raw in ws:
                try:
                    frame = json.loads(raw)
                    kind = frame["type"]
                except (ValueError, KeyError, TypeError):
                    await ws.send('{"type":"error","code":"bad_frame"}')
                    continue
                if kind == "send":
                    room = frame.get("room")
                    if room not in rooms:
                        await ws.send('{"type":"error","code":"not_joined"}')
                        continue
                    out = json.dumps({"type": "msg", "room": room, "body": frame.get("body")})
                    self.outbox.put_nowait((self.channel(room), out))
                elif kind == "join":
                    wanted = [r for r in frame.get("rooms", []) if isinstance(r, str)]
                    await self.join(ws, wanted)
                    rooms.extend(r for r in wanted if r not in rooms)
                    await ws.send(json.dumps({"type": "joined", "rooms": rooms}))
                elif kind == "ping":
                    await ws.send('{"type":"pong"}')
                else:
                    await ws.send('{"type":"error","code":"unknown_type"}')
        finally:
            await self.leave(ws, rooms)


async def main(port: int, redis_url: str, prefix: str) -> None:
    relay = Relay(redis_url, prefix)
    fan_out = asyncio.create_task(relay.fan_out())
    publish = asyncio.create_task(relay.publish())
    stop = asyncio.get_running_loop().create_future()
    for sig in (signal.SIGTERM, signal.SIGINT):
        asyncio.get_running_loop().add_signal_handler(sig, stop.set_result, None)
    async with serve(
        relay.handler,
        "127.0.0.1",
        port,
        compression=None,
        ping_interval=None,
        max_size=64 * 1024,
    ):
        await stop
    fan_out.cancel()
    publish.cancel()
    await relay.redis.aclose()


def run() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/13")
    parser.add_argument("--prefix", default="benchlimit")
    args = parser.parse_args()
    try:
        import uvloop

        uvloop.run(main(args.port, args.redis, args.prefix))
    except ImportError:
        asyncio.run(main(args.port, args.redis, args.prefix))


if __name__ == "__main__":
    run()
