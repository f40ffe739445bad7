"""uvicorn's ``websockets-sansio`` WebSocket implementation, closing a
failed connection the way RFC 6455 (7.1.1) asks.

When the client breaks the protocol (a message over the size limit, which
docs/protocol.md promises to answer with close 1009, or an invalid frame),
uvicorn writes the close frame and closes the TCP connection at once. The
client is often still sending the rest of the message it was refused: the
kernel then answers that unread data with a reset, and the client, which
may not have read the close frame yet, sees the connection reset instead of
the documented code.

``ClosingWebSocketsProtocol`` writes the close frame and half-closes (what
the sans-I/O ``websockets`` layer asks a server to do when it fails a
connection), then goes on reading and dropping what the client still sends
until the client closes its side, or ``close_timeout`` has passed.

It also lets go of the handshake (the parsed request and the response,
about 5 KB a socket) once the socket is open: uvicorn keeps them for the
connection's life, and nothing reads them after the accept. The request's
headers are emptied too, not only let go of: ``websockets``' parser keeps
the request in its generator's frame for as long as it reads frames, and
its headers are most of it (about 3 KB a socket).

It offers the ``parley.write_text`` scope extension
(``config.asgi_extensions``): a live frame or a reply written straight to the
transport when nothing is queued before it, as the bytes ``send`` would
write (an unmasked final text frame; no extension is negotiated), without
the ASGI message, the coroutine and the frame object ``send`` builds for
each of a conversation's members.

A text message whose bytes are not UTF-8 is closed with 1007 as uvicorn
closes it, but logged as one line at INFO, not as an ERROR with a
traceback: it is the client's fault, and a client could otherwise write
a traceback into the server's log with every connection it opens.
"""

from typing import Any

from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from websockets.protocol import State

from config.asgi_extensions import WRITE_TEXT

# RFC 6455 5.2: FIN set, opcode 1 (text); the server's frames are unmasked.
TEXT_FINAL = 0x81


def text_frame_header(length: int) -> bytes:
    """The header of an unmasked final text frame of ``length`` payload bytes."""
    if length < 126:
        return bytes((TEXT_FINAL, length))
    if length < 1 << 16:
        return bytes((TEXT_FINAL, 126)) + length.to_bytes(2, "big")
    return bytes((TEXT_FINAL, 127)) + length.to_bytes(8, "big")


class ClosingWebSocketsProtocol(WebSocketsSansIOProtocol):
    def handle_connect(self, event: Any) -> None:
        super().handle_connect(event)
        self.scope["extensions"][WRITE_TEXT] = self.write_text  # type: ignore[assignment]

    def write_text(self, text: str) -> bool:
        """``text`` written now as one text message, or False when ``send``
        must write it (``config.asgi_extensions``)."""
        conn = self.conn
        if (
            not self.handshake_complete
            or self.close_sent
            or self.disconnected
            or self.transport.is_closing()
            or self.initial_response is not None
            or not self.writable.is_set()  # the transport's buffer is full: wait in line
            or conn.state is not State.OPEN
            or conn.extensions
            or conn.expect_continuation_frame
        ):
            return False
        payload = text.encode()
        self.transport.write(text_frame_header(len(payload)) + payload)
        return True

    def send_receive_event_to_app(self) -> None:
        if self.curr_msg_data_type != "text" or self.close_sent:
            super().send_receive_event_to_app()
            return
        # uvicorn 0.55's text branch, but for the log line of a bad message.
        data = self.frames[0] if len(self.frames) == 1 else b"".join(self.frames)
        self.frames = []
        try:
            text = data.decode()
        except UnicodeDecodeError as error:
            self.logger.info(
                "Closed with 1007: the client sent a text message that is not UTF-8 (%s).",
                error.reason,
            )
            self.conn.send_close(1007)
            self.handle_parser_exception()
            return
        self.queue.put_nowait({"type": "websocket.receive", "text": text})
        if not self.read_paused:
            self.read_paused = True
            self.transport.pause_reading()

    async def send(self, message: Any) -> None:
        await super().send(message)
        if self.handshake_complete and self.response is not None:
            self.request.headers.clear()
            self.request = self.response = None  # type: ignore[assignment]

    def handle_parser_exception(self) -> None:
        if self.close_sent:
            # Failed already (or closing): what the client still sends was
            # read, and ``websockets`` drops it.
            return
        assert self.conn.close_sent is not None
        self.queue.put_nowait(
            {
                "type": "websocket.disconnect",
                "code": self.conn.close_sent.code,
                "reason": self.conn.close_sent.reason,
            }
        )
        for data in self.conn.data_to_send():
            if data:
                self.transport.write(data)
            elif self.transport.can_write_eof():
                # websockets' end-of-stream marker: half-close after the close frame.
                self.transport.write_eof()
        self.close_sent = True
        self.stop_keepalive()
        # The client's EOF closes the transport (``eof_received`` asks
        # nothing else); this only ends a client that never closes.
        self.close_timer = self.loop.call_later(self.close_timeout, self.transport.close)
