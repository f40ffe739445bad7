"""A TCP proxy in front of a real service that a test switches between
four faults' worth of behaviour, on its own thread and event loop:

- ``pass``: bytes flow both ways;
- ``refuse``: the port is closed (connection refused) and every open
  connection is reset;
- ``blackhole``: new connections are accepted and never answered, and open
  ones stop carrying bytes (nothing is lost: they flow again once the mode
  is ``pass``, as after a healed network partition);
- ``latency``: every chunk, either way, is passed on ``latency`` seconds
  after it arrived, in order (a slow or congested link: a round trip takes
  twice ``latency``).
"""

import asyncio
import contextlib
import socket
import threading

PASS, REFUSE, BLACKHOLE, LATENCY = "pass", "refuse", "blackhole", "latency"


class FaultProxy:
    def __init__(self, upstream_host: str, upstream_port: int):
        self.upstream = (upstream_host, upstream_port)
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.mode = PASS
        self.latency = 0.0
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()
        self._call(self._setup())

    def _call(self, coroutine):
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(10)

    async def _setup(self) -> None:
        self._flowing = asyncio.Event()
        self._flowing.set()
        self._transports: set[asyncio.Transport] = set()
        self._server = None
        await self._listen()

    async def _listen(self) -> None:
        self._server = await asyncio.start_server(
            self._handle, "127.0.0.1", self.port, reuse_address=True
        )

    def set_mode(self, mode: str, *, latency: float = 0.0) -> None:
        """Switch to ``mode``; ``latency`` (seconds) is the ``latency`` mode's."""
        self._call(self._set_mode(mode, latency if mode == LATENCY else 0.0))
        self.mode = mode

    async def _set_mode(self, mode: str, latency: float = 0.0) -> None:
        self.latency = latency
        if mode == REFUSE:
            if self._server is not None:
                self._server.close()
                self._server = None
            for transport in list(self._transports):
                transport.abort()
            self._transports.clear()
        elif self._server is None:
            await self._listen()
        if mode == BLACKHOLE:
            self._flowing.clear()
        else:
            self._flowing.set()

    async def _handle(self, reader, writer) -> None:
        self._transports.add(writer.transport)
        upstream_writer = None
        try:
            await self._flowing.wait()
            upstream_reader, upstream_writer = await asyncio.open_connection(*self.upstream)
            self._transports.add(upstream_writer.transport)
            await asyncio.gather(
                self._pipe(reader, upstream_writer), self._pipe(upstream_reader, writer)
            )
        except (OSError, asyncio.IncompleteReadError):
            pass
        finally:
            for w in (writer, upstream_writer):
                if w is not None:
                    self._transports.discard(w.transport)
                    with contextlib.suppress(Exception):
                        w.transport.abort()

    async def _pipe(self, reader, writer) -> None:
        # Reading goes on while a chunk waits out its latency; the queue
        # keeps the chunks in order, each with the time it is due.
        chunks: asyncio.Queue = asyncio.Queue()
        forwarding = asyncio.ensure_future(self._forward(chunks, writer))
        try:
            while True:
                data = await reader.read(65536)
                chunks.put_nowait((self._loop.time() + self.latency, data))
                if not data:
                    break
            await forwarding
        finally:
            forwarding.cancel()

    async def _forward(self, chunks: asyncio.Queue, writer) -> None:
        while True:
            due, data = await chunks.get()
            await asyncio.sleep(max(0.0, due - self._loop.time()))
            await self._flowing.wait()
            if not data:
                with contextlib.suppress(OSError):
                    writer.write_eof()
                return
            writer.write(data)
            await writer.drain()

    async def _shut(self) -> None:
        await self._set_mode(REFUSE)
        tasks = [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self._call(self._shut())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
