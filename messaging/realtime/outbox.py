"""What one socket has yet to write, in the order it was produced, within a
bound (back-pressure).

The hub hands every live frame to its sockets' outboxes without waiting for
any of them; the consumer's own replies (ack, history, resume pages, errors)
and its close go through the same FIFO, so a socket's frames leave in the
order they were produced. One writer task per outbox writes them with the
ASGI ``send``; it exists only while the outbox is non-empty, so an idle
socket holds no task and no queue. Live frames that come while the socket
greets or answers a command are held back (within the same bound) and
follow its replies, as they did when each socket's events waited in a
channel of its own until the consumer was free.

A socket that does not read: uvicorn's ``send`` awaits the transport's drain
(``websockets``), so its writer waits and live frames pile up here; once the
queued live bytes pass ``PARLEY_SOCKET_SEND_BUFFER_BYTES`` the outbox says
so (``put_live`` returns False) and its owner closes the socket with 4008
(docs/protocol.md). Daphne's ``send`` never waits (Twisted buffers without
bound), so there this outbox drains at once and the bound is not reached
(docs/operations.md, "Back-pressure").

Under Parley's uvicorn protocol a frame with nothing queued before it is
written at once by the server's ``parley.write_text`` extension
(``config.asgi_extensions``): no writer task, no ASGI message. The extension
declines (and the frame is queued as above) while the transport asks its
writer to wait, so a socket that does not read still fills this outbox and
meets its bound.

Replies are awaited until written (or dropped): a client that stops reading
holds at most one reply of its own here, since the consumer handles one
frame at a time; replies do not count towards the live bound.
"""

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable

logger = logging.getLogger(__name__)

Send = Callable[[dict], Awaitable[None]]
# ``config.asgi_extensions.WRITE_TEXT``: write a text message now, or say no.
WriteText = Callable[[str], bool]


class Outbox:
    """One socket's frames to write; see the module's docstring."""

    __slots__ = ("_frames", "_held", "_live_bytes", "_send", "_write_text", "_writer", "closed")

    def __init__(self, send: Send, write_text: WriteText | None = None) -> None:
        self._send = send
        self._write_text = write_text
        # (text, or the close code; live bytes it counts; waiter or None),
        # created with the first frame: an idle socket holds none.
        self._frames: deque[tuple[str | int, int, asyncio.Future | None]] | None = None
        # Live frames held back while the socket greets (its groups are
        # joined before its ``hello``) or answers a command: written after.
        self._held: list[tuple[str, int]] | None = []
        self._live_bytes = 0
        self._writer: asyncio.Task | None = None
        self.closed = False  # a close is queued, or the outbox was dropped

    @property
    def live_bytes(self) -> int:
        """Bytes of live frames queued and not yet written."""
        return self._live_bytes

    def put_live(self, text: str, size: int, limit: int) -> bool:
        """Queue a live frame of ``size`` bytes. False if that takes the
        queued live bytes past ``limit``: the frame is not queued, and the
        owner should ``abandon`` the socket."""
        if self.closed:
            return True
        if self._held is None and self._written_now(text):
            return True
        if self._live_bytes + size > limit:
            return False
        self._live_bytes += size
        if self._held is not None:
            self._held.append((text, size))
        else:
            self._queue((text, size, None))
        return True

    def _written_now(self, text: str) -> bool:
        """``text`` written by the server at once, nothing being queued
        before it (module docstring)."""
        return self._frames is None and self._write_text is not None and self._write_text(text)

    def hold(self) -> None:
        """Hold live frames back (not their bound) until ``release``: the
        replies queued meanwhile go first, as when each socket's events
        waited in its own channel while it answered a command."""
        if self._held is None and not self.closed:
            self._held = []

    def release(self) -> None:
        """Queue the live frames held back, and from now on every live
        frame as it comes."""
        held, self._held = self._held, None
        for text, size in held or ():
            self._queue((text, size, None))

    async def reply(self, text: str) -> None:
        """Write a reply after everything queued before it; return once it
        is written, or dropped with the outbox."""
        if self.closed or self._written_now(text):
            return
        waiter = asyncio.get_running_loop().create_future()
        self._queue((text, 0, waiter))
        await waiter

    def close(self, code: int | None) -> None:
        """Close the socket with ``code`` once what is queued is written;
        nothing queued after it is written."""
        if self.closed:
            return
        self._held = None  # the client never heard hello: nothing else for it
        self._queue((code if code is not None else 1000, 0, None))
        self.closed = True

    def abandon(self, code: int) -> None:
        """Drop everything queued and close the socket with ``code`` now (it
        is too far behind)."""
        self.discard()
        self._writer = asyncio.get_running_loop().create_task(self._close_now(code))

    def discard(self) -> None:
        """Drop everything queued and stop writing (the socket is gone)."""
        self.closed = True
        self._held = None
        self._live_bytes = 0
        frames, self._frames = self._frames, None
        for _text, _size, waiter in frames or ():
            if waiter is not None and not waiter.done():
                waiter.set_result(None)
        writer, self._writer = self._writer, None
        if writer is not None and writer is not asyncio.current_task():
            writer.cancel()

    def _queue(self, item: tuple[str | int, int, asyncio.Future | None]) -> None:
        if self._frames is None:
            self._frames = deque()
        self._frames.append(item)
        if self._writer is None:
            self._writer = asyncio.get_running_loop().create_task(self._write())

    async def _write(self) -> None:
        frames = self._frames
        try:
            while frames:
                text, size, waiter = frames[0]
                if isinstance(text, int):
                    await self._send({"type": "websocket.close", "code": text})
                else:
                    await self._send({"type": "websocket.send", "text": text})
                frames.popleft()
                self._live_bytes -= size
                if waiter is not None and not waiter.done():
                    waiter.set_result(None)
        except asyncio.CancelledError:
            raise
        except Exception:
            # The socket went away under the write: nothing more reaches it.
            logger.debug("A socket's write failed; its outbox is dropped", exc_info=True)
            self._writer = None
            self.discard()
            return
        if self._frames is frames:
            self._frames = None  # empty: an idle socket keeps no queue
        self._writer = None

    async def _close_now(self, code: int) -> None:
        try:
            await self._send({"type": "websocket.close", "code": code})
        except Exception:
            logger.debug("Could not close a socket that fell behind", exc_info=True)
        finally:
            if self._writer is asyncio.current_task():
                self._writer = None
