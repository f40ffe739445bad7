"""A raw outside client for real server processes: JSON frames in arrival
order, waits bounded by generous timeouts, and the close code the server
chose. Nothing here assumes an order docs/protocol.md does not promise:
``wait_for`` looks through every frame received so far."""

import asyncio
import contextlib
import json
import uuid

from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from tests.realtime.clients import origin_of


class Peer:
    def __init__(self, socket):
        self.socket = socket
        self.frames: list[dict] = []
        self._arrived = asyncio.Event()
        self._reader = asyncio.create_task(self._read())

    @classmethod
    async def open(cls, url: str, cookie: str | None, *, open_timeout: float = 30) -> "Peer":
        headers = {"Cookie": f"sessionid={cookie}"} if cookie else {}
        socket = await connect(
            url, additional_headers=headers, origin=origin_of(url), open_timeout=open_timeout
        )
        return cls(socket)

    async def _read(self) -> None:
        try:
            async for raw in self.socket:
                self.frames.append(json.loads(raw))
                self._arrived.set()
        except ConnectionClosed:
            pass
        finally:
            self._arrived.set()

    async def send(self, frame: dict) -> None:
        await self.socket.send(json.dumps(frame))

    async def send_message(self, conversation_id, content: str, client_id=None) -> str:
        client_id = str(client_id or uuid.uuid4())
        await self.send(
            {
                "type": "message.send",
                "ref": client_id[:8],
                "conversation_id": str(conversation_id),
                "client_id": client_id,
                "content": content,
            }
        )
        return client_id

    async def wait_for(self, predicate, timeout: float = 30) -> dict:
        """The first frame received so far or within ``timeout`` that matches."""
        deadline = asyncio.get_running_loop().time() + timeout
        seen = 0
        while True:
            for frame in self.frames[seen:]:
                if predicate(frame):
                    return frame
            seen = len(self.frames)
            if self._reader.done():
                raise AssertionError(
                    f"closed ({self.close_code}) before the frame came; got {self.frames}"
                )
            left = deadline - asyncio.get_running_loop().time()
            if left <= 0:
                raise AssertionError(f"no such frame in {timeout}s; got {self.frames}")
            self._arrived.clear()
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._arrived.wait(), left)

    async def wait_type(self, frame_type: str, timeout: float = 30, **fields) -> dict:
        return await self.wait_for(
            lambda f: (
                f.get("type") == frame_type
                and all(f.get(key) == value for key, value in fields.items())
            ),
            timeout,
        )

    async def wait_closed(self, timeout: float = 30) -> int | None:
        """The close code, once the server has closed the socket."""
        await asyncio.wait_for(asyncio.shield(self._reader), timeout)
        return self.close_code

    @property
    def close_code(self) -> int | None:
        return self.socket.close_code

    @property
    def is_open(self) -> bool:
        return not self._reader.done()

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            await self.socket.close()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self._reader, 5)
