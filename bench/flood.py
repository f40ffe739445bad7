"""One person floods while a delivery phase runs (fault case 15,
docs/reliability.md): 50 sockets at once from one account, and on one of
them typing and read-receipt frames far beyond their budgets. The phase's
other people are measured as usual; their p99 is compared with the same
phase without the flood.

Parley only: the baselines have no budgets to refuse with. Sends are not
flooded here: the bench raises the send limit (docs/benchmarks.md), so a
send flood would be accepted traffic, not a refusal; tests/faults prove
the send budget.
"""

import asyncio
import contextlib
import json
import threading
import time
from collections import Counter

from websockets.exceptions import ConnectionClosed

from bench.loadgen import Endpoint, open_websocket

SOCKETS = 50
FRAMES_PER_SECOND = 400  # of each kind: typing.start, read


class Flood:
    """``with Flood(endpoints):`` the flood runs in a thread of its own
    (its own event loop) until the block ends; ``result`` then holds what
    the server answered."""

    def __init__(self, endpoints: list[Endpoint], *, frames_per_second: int = FRAMES_PER_SECOND):
        self.endpoints = endpoints
        self.frames_per_second = frames_per_second
        self.result: dict = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="flood", daemon=True)
        self._ready = threading.Event()

    def __enter__(self) -> "Flood":
        self._thread.start()
        self._ready.wait(60)
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(60)

    def _run(self) -> None:
        asyncio.run(self._main())

    async def _main(self) -> None:
        errors: Counter = Counter()
        closes: Counter = Counter()
        sent = 0

        async def open_one(endpoint: Endpoint):
            try:
                ws = await open_websocket(endpoint, timeout=30)
            except Exception:  # noqa: BLE001 - a refused handshake is a refusal
                closes["handshake refused"] += 1
                return None
            try:
                hello = json.loads(await asyncio.wait_for(ws.recv(), 30))
            except ConnectionClosed as closed:
                closes[str(closed.rcvd.code if closed.rcvd else None)] += 1
                return None
            if hello.get("type") != "hello":
                errors[hello.get("code", hello.get("type"))] += 1
                with contextlib.suppress(ConnectionClosed, TimeoutError):
                    await asyncio.wait_for(ws.recv(), 10)  # the close that follows
                closes[str(ws.close_code)] += 1
                return None
            return ws, hello

        opened = await asyncio.gather(*(open_one(e) for e in self.endpoints))
        sockets = [o for o in opened if o is not None]
        self._ready.set()
        if not sockets:
            self.result = {"sockets_accepted": 0, "refusals": dict(closes)}
            return
        ws, hello = sockets[0]
        room = self.endpoints[0].rooms[0]
        last_seq = next((c["last_seq"] for c in hello["conversations"] if c["id"] == room), 0)

        async def read_answers():
            with contextlib.suppress(ConnectionClosed):
                async for raw in ws:
                    frame = json.loads(raw)
                    if frame.get("type") == "error":
                        errors[frame.get("code")] += 1

        reader = asyncio.create_task(read_answers())
        typing = json.dumps({"type": "typing.start", "conversation_id": room})
        read = json.dumps({"type": "read", "conversation_id": room, "seq": last_seq})
        interval = 1.0 / self.frames_per_second
        started = time.monotonic()
        next_at = started
        with contextlib.suppress(ConnectionClosed):
            while not self._stop.is_set():
                await ws.send(typing)
                await ws.send(read)
                sent += 2
                next_at += interval
                await asyncio.sleep(max(0.0, next_at - time.monotonic()))
        seconds = time.monotonic() - started
        await asyncio.sleep(0.5)  # the last answers
        reader.cancel()
        still_open = sum(1 for s, _ in sockets if s.close_code is None)
        flooding_open = ws.close_code is None
        for s, _ in sockets:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(s.close(), 3)
        self.result = {
            "sockets_tried": len(self.endpoints),
            "sockets_accepted": len(sockets),
            "refusals": dict(closes),
            "frames_sent": sent,
            "frames_per_second": round(sent / seconds) if seconds else None,
            "errors": dict(errors),
            "flooding_socket_open_at_end": flooding_open,
            "accepted_open_at_end": still_open,
        }
