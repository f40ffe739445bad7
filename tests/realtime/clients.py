"""A protocol client for tests against real server processes: it keeps an
outbox until acknowledged, resumes from its cursors on every reconnect and
de-duplicates by message id, as docs/protocol.md asks of clients."""

import asyncio
import contextlib
import json
import uuid
from urllib.parse import urlsplit

from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed


def origin_of(ws_url: str) -> str:
    """The origin of the page a browser would open ``ws_url`` from: the
    server's own (scheme, host and port), which the origin check requires."""
    parts = urlsplit(ws_url)
    return f"{'https' if parts.scheme == 'wss' else 'http'}://{parts.netloc}"


class ProtocolClient:
    def __init__(self, name: str, cookie: str, urls: list[str]):
        self.name = name
        self.cookie = cookie
        self.urls = list(urls)
        self.outbox: dict[str, tuple[str, str]] = {}  # client_id -> (conversation, content)
        self.sent: set[str] = set()  # every client_id ever written
        self.acked: dict[str, dict] = {}  # client_id -> stored message
        self.held: dict[str, dict] = {}  # message id -> message
        # The live stream is once and in seq order per connection
        # (docs/protocol.md); a resume may repeat what came live, by design.
        self.live_repeats = 0  # a message.new for an id this connection had live
        self.live_out_of_order = 0  # a message.new at or below its conversation's last live seq
        self._live_seqs: dict[str, int] = {}
        self._live_ids: set[str] = set()
        self.cursors: dict[str, int] = {}
        self.frames: list[dict] = []
        self.socket = None
        self.reconnects = 0
        self._reader: asyncio.Task | None = None
        self._resumed = asyncio.Event()
        self._pending_resume: set[str] = set()
        self._waiters: list[tuple[callable, asyncio.Future]] = []

    async def connect(self, url: str | None = None) -> None:
        url = url or self.urls[0]
        self.socket = await connect(
            url,
            additional_headers={"Cookie": f"sessionid={self.cookie}"},
            origin=origin_of(url),
            open_timeout=10,
        )
        hello = json.loads(await asyncio.wait_for(self.socket.recv(), 10))
        assert hello["type"] == "hello", hello
        for conversation in hello["conversations"]:
            self.cursors.setdefault(conversation["id"], 0)
        self._live_seqs, self._live_ids = {}, set()
        self._reader = asyncio.create_task(self._read())
        await self.resume()
        for client_id, (conversation_id, content) in list(self.outbox.items()):
            await self._write_send(conversation_id, client_id, content)

    async def reconnect_elsewhere(self) -> None:
        """The server went away: connect to the next one and catch up."""
        self.reconnects += 1
        self.urls.append(self.urls.pop(0))
        for _ in range(50):
            with contextlib.suppress(OSError, asyncio.TimeoutError, ConnectionClosed):
                await self.connect(self.urls[0])
                return
            await asyncio.sleep(0.2)
        raise AssertionError(f"{self.name} could not reconnect")

    async def resume(self) -> None:
        self._resumed.clear()
        await self.socket.send(
            json.dumps({"type": "resume", "ref": "resume", "cursors": dict(self.cursors)})
        )

    async def wait_resumed(self, timeout: float = 10) -> None:
        await asyncio.wait_for(self._resumed.wait(), timeout)

    async def send(self, conversation_id: str, content: str) -> str:
        client_id = str(uuid.uuid4())
        self.outbox[client_id] = (conversation_id, content)
        self.sent.add(client_id)
        with contextlib.suppress(ConnectionClosed):
            await self._write_send(conversation_id, client_id, content)
        return client_id

    async def _write_send(self, conversation_id, client_id, content):
        await self.socket.send(
            json.dumps(
                {
                    "type": "message.send",
                    "conversation_id": conversation_id,
                    "client_id": client_id,
                    "content": content,
                }
            )
        )

    async def command(self, frame: dict) -> None:
        await self.socket.send(json.dumps(frame))

    async def wait_for(self, predicate, timeout: float = 10) -> dict:
        """The first frame (already received or still to come) matching."""
        for frame in self.frames:
            if predicate(frame):
                return frame
        future = asyncio.get_running_loop().create_future()
        self._waiters.append((predicate, future))
        return await asyncio.wait_for(future, timeout)

    def _hold(self, message: dict) -> None:
        conversation_id = message["conversation_id"]
        self.held[message["id"]] = message
        # Advance the cursor only over a contiguous run; a gap is left for resume.
        seqs = {m["seq"] for m in self.held.values() if m["conversation_id"] == conversation_id}
        cursor = self.cursors.get(conversation_id, 0)
        while cursor + 1 in seqs:
            cursor += 1
        self.cursors[conversation_id] = cursor

    def delivered(self, since: int = 0) -> list[dict]:
        """Every message received from frame ``since`` on, in arrival order,
        live (``message.new``) or by resume (``history``), repeats kept:
        ``held`` is keyed by id and would hide a duplicate."""
        messages: list[dict] = []
        for frame in self.frames[since:]:
            if frame["type"] == "message.new":
                messages.append(frame["message"])
            elif frame["type"] == "history":
                messages.extend(frame["messages"])
        return messages

    def _count_live(self, message: dict) -> None:
        if message["id"] in self._live_ids:
            self.live_repeats += 1
        self._live_ids.add(message["id"])
        conversation_id = message["conversation_id"]
        if message["seq"] <= self._live_seqs.get(conversation_id, 0):
            self.live_out_of_order += 1
        self._live_seqs[conversation_id] = max(
            message["seq"], self._live_seqs.get(conversation_id, 0)
        )

    async def _read(self) -> None:
        try:
            async for raw in self.socket:
                frame = json.loads(raw)
                self.frames.append(frame)
                kind = frame["type"]
                if kind == "ack":
                    self.outbox.pop(frame["client_id"], None)
                    self.acked[frame["client_id"]] = frame["message"]
                    self._hold(frame["message"])
                elif kind == "message.new":
                    self._count_live(frame["message"])
                    self._hold(frame["message"])
                elif kind == "history":
                    for message in frame["messages"]:
                        self._hold(message)
                    if frame["has_more"]:
                        self._pending_resume.add(frame["conversation_id"])
                elif kind == "resume.done":
                    if self._pending_resume:
                        self._pending_resume.clear()
                        await self.resume()
                    else:
                        self._resumed.set()
                for predicate, future in list(self._waiters):
                    if not future.done() and predicate(frame):
                        future.set_result(frame)
                        self._waiters.remove((predicate, future))
        except ConnectionClosed:
            pass

    @property
    def closed(self) -> bool:
        return self._reader is None or self._reader.done()

    async def close(self) -> None:
        if self.socket is not None:
            with contextlib.suppress(Exception):
                await self.socket.close()
        if self._reader is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._reader, 5)


class RawSocket:
    """A bare WebSocket client, as an outside attacker would write one: it
    sends any text, and reads frames as they come, nothing interpreted."""

    def __init__(self, socket, hello: dict):
        self.socket = socket
        self.hello = hello
        self.frames: list[dict] = []  # every frame read so far, in order

    @classmethod
    async def open(cls, url: str, cookie: str) -> "RawSocket":
        socket = await connect(
            url,
            additional_headers={"Cookie": f"sessionid={cookie}"},
            origin=origin_of(url),
            open_timeout=10,
            max_size=None,
        )
        hello = json.loads(await asyncio.wait_for(socket.recv(), 10))
        assert hello["type"] == "hello", hello
        return cls(socket, hello)

    async def send_text(self, text: str) -> None:
        await self.socket.send(text)

    async def send(self, frame: dict) -> None:
        await self.socket.send(json.dumps(frame))

    async def recv(self, timeout: float = 10) -> dict:
        frame = json.loads(await asyncio.wait_for(self.socket.recv(), timeout))
        self.frames.append(frame)
        return frame

    async def recv_until(self, predicate, timeout: float = 10) -> dict:
        """The next frame matching ``predicate``; frames before it are kept in
        ``frames`` and otherwise skipped."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            frame = await self.recv(max(0.01, deadline - loop.time()))
            if predicate(frame):
                return frame

    async def request(self, frame: dict, timeout: float = 10) -> dict:
        """Send ``frame`` with a fresh ref; the frame that answers it."""
        ref = frame.setdefault("ref", uuid.uuid4().hex[:12])
        await self.send(frame)
        return await self.recv_until(lambda f: f.get("ref") == ref, timeout)

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            await self.socket.close()
