"""A WebSocket message limit for servers that cannot be given one.

granian's WebSockets accept messages up to 64 MiB; docs/protocol.md promises
close 1009 over 1 MiB. ``MessageSizeLimit`` sits between the server and
Parley's application: a received message over the limit closes the socket
with 1009 and reaches the application as a disconnect with that code, so the
consumer cleans up as after any close. Smaller messages, and everything that
is not a WebSocket, pass untouched.
"""

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[MutableMapping[str, Any], Receive, Send], Awaitable[None]]

MESSAGE_TOO_BIG = 1009
# UTF-8 spends at most four bytes on a character.
MAX_UTF8_BYTES_PER_CHAR = 4


def message_bytes_over(message: Message, limit: int) -> bool:
    """Whether a ``websocket.receive``'s payload is over ``limit`` bytes,
    without encoding text that is plainly under or over it."""
    data = message.get("bytes")
    if data is not None:
        return len(data) > limit
    text = message.get("text") or ""
    if len(text) > limit:
        return True
    if len(text) * MAX_UTF8_BYTES_PER_CHAR <= limit:
        return False
    return len(text.encode("utf-8", "surrogatepass")) > limit


class MessageSizeLimit:
    """ASGI middleware: close a WebSocket with 1009 on a message over
    ``limit`` bytes."""

    def __init__(self, application: ASGIApp, limit: int):
        self.application = application
        self.limit = limit

    async def __call__(self, scope: MutableMapping[str, Any], receive: Receive, send: Send) -> None:
        if scope["type"] != "websocket":
            await self.application(scope, receive, send)
            return
        closed = False

        async def limited_receive() -> Message:
            nonlocal closed
            message = await receive()
            if message["type"] == "websocket.receive" and message_bytes_over(message, self.limit):
                closed = True
                await send({"type": "websocket.close", "code": MESSAGE_TOO_BIG})
                return {"type": "websocket.disconnect", "code": MESSAGE_TOO_BIG}
            return message

        async def guarded_send(message: Message) -> None:
            # The socket is closed already: a frame the application sends
            # before it has read the disconnect has nowhere to go.
            if not closed:
                await send(message)

        await self.application(scope, limited_receive, guarded_send)
