"""What granian's worker needs to keep Parley's promises (config.server).

granian cannot be told a WebSocket message limit, on SIGTERM it drops its
WebSockets without a close frame, and it sends no close frame the
application asks for while a receive is pending. Its worker loads the application
through ``load_application``, which wraps it in ``MessageSizeLimit`` (close
1009 over 1 MiB) and ``OpenSockets`` (every accepted WebSocket, to close
with 1012 when the worker stops), and makes the worker's signal handling
close them before granian stops serving.

The shutdown hook replaces ``granian._signals.set_loop_signals``, which the
worker reads when it starts serving: pyproject.toml pins granian's minor
version, and tests/security/test_asgi_servers.py fails if the hook stops
working.
"""

import asyncio
import contextlib
import importlib
import signal
from collections.abc import Callable, MutableMapping
from typing import Any

from config.message_size import ASGIApp, Message, MessageSizeLimit, Receive, Send


class OpenSockets:
    """ASGI middleware that knows every accepted WebSocket and closes them
    all with ``close_all``; and that lets the application close a socket
    while it waits to receive. granian sends no close frame while a receive
    is pending (Channels' consumers always have one), so a close the
    application sends first cancels that receive; the application's
    receive then returns the disconnect that follows."""

    def __init__(self, application: ASGIApp):
        self.application = application
        self.sends: set[Send] = set()
        self.closed = asyncio.Event()

    async def __call__(self, scope: MutableMapping[str, Any], receive: Receive, send: Send) -> None:
        if scope["type"] != "websocket":
            await self.application(scope, receive, send)
            return
        waiting: set[asyncio.Future] = set()
        closing = asyncio.Event()  # the application asked to close
        close_sent = asyncio.Event()

        async def closable_receive() -> Message:
            if not closing.is_set():
                pending = asyncio.ensure_future(receive())
                waiting.add(pending)
                try:
                    return await pending
                except asyncio.CancelledError:
                    if not closing.is_set():
                        raise
                finally:
                    waiting.discard(pending)
            # A receive started before the close frame is out would hold
            # it back again: the disconnect is read after it.
            await close_sent.wait()
            return await receive()

        async def tracked_send(message: Message) -> None:
            if message["type"] == "websocket.accept":
                self.sends.add(tracked_send)
            elif message["type"] == "websocket.close" and not closing.is_set():
                self.sends.discard(tracked_send)
                closing.set()
                for pending in waiting:
                    pending.cancel()
                await asyncio.sleep(0)  # granian sees the receive cancelled
                try:
                    await send(message)
                finally:
                    close_sent.set()
                return
            await send(message)

        try:
            await self.application(scope, closable_receive, tracked_send)
        finally:
            self.sends.discard(tracked_send)
            if not self.sends:
                self.closed.set()

    async def close_all(self, code: int, timeout: float) -> None:
        """Send every open WebSocket a close frame with ``code``; return once
        their applications have finished, or after ``timeout`` seconds."""
        if not self.sends:
            return
        self.closed.clear()
        for send in list(self.sends):
            try:
                await send({"type": "websocket.close", "code": code})
            except Exception:  # noqa: BLE001 - a socket already gone needs no close
                self.sends.discard(send)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.closed.wait(), timeout)


def load_application(target: str) -> Callable:
    """granian's loader for ``target`` ("module:attribute"): the application
    with the 1 MiB message limit, its sockets closed on SIGTERM."""
    from config.server import SERVER_MAX_MESSAGE_BYTES, SERVICE_RESTART, SHUTDOWN_SECONDS

    module, _, attribute = target.partition(":")
    application = getattr(importlib.import_module(module), attribute or "application")
    sockets = OpenSockets(MessageSizeLimit(application, SERVER_MAX_MESSAGE_BYTES))
    close_sockets_before_stopping(sockets, SERVICE_RESTART, SHUTDOWN_SECONDS)
    return sockets


def close_sockets_before_stopping(sockets: OpenSockets, code: int, timeout: float) -> None:
    """Make the worker's SIGTERM (and SIGINT) close ``sockets`` first, then
    stop granian as its own handler does."""
    import granian._signals

    granian_set_loop_signals = granian._signals.set_loop_signals

    def set_loop_signals(loop: asyncio.AbstractEventLoop):
        stop = granian_set_loop_signals(loop)
        closing: list[asyncio.Task] = []

        def on_signal() -> None:
            # The platform may signal the whole process group, and granian's
            # supervisor signals its worker too: close once.
            if not closing:
                closing.append(loop.create_task(sockets.close_all(code, timeout)))
                closing[0].add_done_callback(lambda _: stop.set())

        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, on_signal)
        return stop

    granian._signals.set_loop_signals = set_loop_signals
