"""``python -m config.server``: the ``web`` process, on uvicorn (the default,
with its ``websockets-sansio`` implementation), daphne or granian, each
configured to keep what docs/protocol.md and docs/operations.md ("ASGI
server") promise. uvicorn is the default because it measured best on
docs/benchmarks.md's runs (throughput, latency, memory per socket) and
because its ``send`` waits for the client, which the per-socket send
buffer needs to close a stalled reader (docs/operations.md).

    python -m config.server [--server uvicorn|daphne|granian] [arguments]

The server is ``--server`` or, without it, ``PARLEY_ASGI_SERVER`` (uvicorn
when neither is given). For daphne the arguments are daphne's own, exactly
as before. uvicorn and granian take the ones the Procfile uses:
``-b/--bind``, ``-p/--port`` and the application (``config.asgi:application``
when left out); uvicorn also takes ``--ws`` (its WebSocket implementation).

What each server is made to do, whatever its defaults:

- A WebSocket frame or message over 1 MiB (``SERVER_MAX_MESSAGE_BYTES``) is
  closed with code 1009, not a dropped or reset TCP connection (uvicorn's
  close is ``config.uvicorn_websockets``'s). Frames over Parley's
  own limit (``PARLEY_MAX_FRAME_BYTES``, 64 KiB) but under 1 MiB reach the
  consumer, which answers ``frame_too_large`` and keeps the socket. A
  server that sent a close frame waits ``CLOSE_TIMEOUT_SECONDS`` for the
  client's, which a client still sending a refused message sends late.
- permessage-deflate is off: it costs a compressor and a decompressor per
  socket (about 300 KiB with zlib's defaults) to shrink frames that are
  mostly a few hundred bytes of JSON.
- The server never rewrites the client address from forwarded headers:
  Parley reads them itself, trusting only ``PARLEY_TRUSTED_PROXIES``.
- No lifespan: Parley's application has no startup or shutdown work (and
  Channels' router refuses the scope).
- SIGTERM stops accepting connections, closes the open ones and exits
  within ``SHUTDOWN_SECONDS``.
- The access log goes to standard output while ``LOG_LEVEL`` is INFO or
  lower (the default), as daphne's does; ``LOG_LEVEL=WARNING`` silences it.
"""

import argparse
import logging
import os
import sys
from collections.abc import Sequence
from typing import Any

SERVERS = ("uvicorn", "daphne", "granian")
DEFAULT_SERVER = "uvicorn"
DEFAULT_APPLICATION = "config.asgi:application"
# daphne's own hard limit, which docs/protocol.md promises close 1009 over.
SERVER_MAX_MESSAGE_BYTES = 1024 * 1024
# How long a stopping server waits for its connections and applications.
SHUTDOWN_SECONDS = 10
# How long a server that sent a close frame waits for the client's (uvicorn's
# ``close_timeout``; daphne is told the same).
CLOSE_TIMEOUT_SECONDS = 10
# The close code of a socket the server closes as it stops (RFC 6455's
# registry: "service restart"; uvicorn's own choice too).
SERVICE_RESTART = 1012
UVICORN_WEBSOCKETS = ("websockets-sansio", "websockets", "wsproto")
# Requests and open sockets one granian worker serves at once.
GRANIAN_BACKPRESSURE = 65536


def log_level() -> int:
    """``LOG_LEVEL`` (the level of Parley's own logs) as a number."""
    level = logging.getLevelName(os.environ.get("LOG_LEVEL", "INFO").upper())
    return level if isinstance(level, int) else logging.INFO


def access_log_wanted() -> bool:
    return log_level() <= logging.INFO


def split_server(argv: Sequence[str]) -> tuple[str, list[str]]:
    """The server named by ``--server NAME`` (or ``--server=NAME``) or
    ``PARLEY_ASGI_SERVER``, and the arguments left for it."""
    name = os.environ.get("PARLEY_ASGI_SERVER") or DEFAULT_SERVER
    rest: list[str] = []
    args = iter(argv)
    for arg in args:
        if arg == "--server":
            name = next(args, "")
        elif arg.startswith("--server="):
            name = arg.partition("=")[2]
        else:
            rest.append(arg)
    if name not in SERVERS:
        raise SystemExit(f"config.server: the server is one of {', '.join(SERVERS)}, not {name!r}")
    return name, rest


def common_arguments(server: str, argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog=f"python -m config.server --server {server}",
        description=f"Parley's web process on {server}.",
    )
    parser.add_argument("-b", "--bind", default="127.0.0.1", help="address to listen on")
    parser.add_argument("-p", "--port", type=int, default=8000, help="port to listen on")
    if server == "uvicorn":
        parser.add_argument(
            "--ws",
            choices=UVICORN_WEBSOCKETS,
            default=UVICORN_WEBSOCKETS[0],
            help="uvicorn's WebSocket implementation",
        )
    parser.add_argument("application", nargs="?", default=DEFAULT_APPLICATION)
    return parser.parse_args(list(argv))


# --- daphne -----------------------------------------------------------------


def run_daphne(argv: list[str]) -> None:
    """daphne's own command line with two changes. A failed connection is
    closed with a close frame first, so a frame over daphne's 1 MiB limit is
    answered with 1009 (autobahn fails a connection "by drop" unless told
    otherwise: the client would see a reset, not a close). And SIGTERM
    closes every open WebSocket with 1012 before daphne stops (it would
    drop them). daphne accepts no compression offer and reads no proxy
    headers unless told to."""
    import daphne.server  # installs Twisted's asyncio reactor before the rest of Twisted
    from daphne.cli import CommandLineInterface
    from daphne.ws_protocol import WebSocketFactory, WebSocketProtocol
    from twisted.internet import reactor as twisted_reactor
    from twisted.internet import task

    reactor: Any = twisted_reactor  # the installed one; Twisted types it as a module

    class ClosingWebSocketFactory(WebSocketFactory):
        def resetProtocolOptions(self) -> None:
            super().resetProtocolOptions()
            # Close with a status code (1009 for a frame over the size
            # limit) rather than dropping the TCP connection.
            self.failByDrop = False
            # And wait as long as uvicorn does for the client's side of the
            # close. A client still sending the message it was refused
            # answers only once it is out; dropping the connection before
            # (autobahn waits one second) makes its next write fail, and it
            # never reads the close frame waiting for it.
            self.closeHandshakeTimeout = CLOSE_TIMEOUT_SECONDS

    class GracefulServer(daphne.server.Server):
        def run(self) -> None:
            reactor.addSystemEventTrigger("before", "shutdown", self.close_websockets)
            super().run()

        def close_websockets(self):
            """Send each open WebSocket a close frame (1012, "service
            restart"); shutdown goes on once all are closed, or after
            ``SHUTDOWN_SECONDS``."""
            sockets = [p for p in self.connections if isinstance(p, WebSocketProtocol)]
            for socket in sockets:
                if socket.state == WebSocketProtocol.STATE_OPEN:
                    socket.sendCloseFrame(code=SERVICE_RESTART)
            deadline = reactor.seconds() + SHUTDOWN_SECONDS

            def check() -> None:
                closed = all(s.state == WebSocketProtocol.STATE_CLOSED for s in sockets)
                if closed or reactor.seconds() >= deadline:
                    waited.stop()

            waited = task.LoopingCall(check)
            return waited.start(0.05)

    daphne.server.WebSocketFactory = ClosingWebSocketFactory
    CommandLineInterface.server_class = GracefulServer
    if not access_log_wanted() and not any(a in ("-v", "--verbosity") for a in argv):
        argv = ["--verbosity", "0", *argv]
    CommandLineInterface().run(argv)


# --- uvicorn ----------------------------------------------------------------


def uvicorn_websocket_protocol(name: str) -> Any:
    """uvicorn's ``--ws`` choice, with ``websockets-sansio`` made to close a
    failed connection without a reset (``config.uvicorn_websockets``)."""
    if name == "websockets-sansio":
        from config.uvicorn_websockets import ClosingWebSocketsProtocol

        return ClosingWebSocketsProtocol
    return name


def run_uvicorn(args: argparse.Namespace) -> None:
    """uvicorn on uvloop and httptools. Its defaults changed here: the
    message limit (16 MiB) to 1 MiB, closed with 1009 by each of its
    WebSocket implementations; compression (on) off; proxy headers (on,
    trusted from 127.0.0.1) off; lifespan off; shutdown bounded (it would
    wait for every connection)."""
    import uvicorn

    uvicorn.run(
        args.application,
        host=args.bind,
        port=args.port,
        loop="uvloop",
        http="httptools",
        ws=uvicorn_websocket_protocol(args.ws),
        ws_max_size=SERVER_MAX_MESSAGE_BYTES,
        ws_per_message_deflate=False,
        proxy_headers=False,
        lifespan="off",
        access_log=access_log_wanted(),
        log_level=log_level(),
        timeout_graceful_shutdown=SHUTDOWN_SECONDS,
    )


# --- granian ----------------------------------------------------------------


def run_granian(args: argparse.Namespace) -> None:
    """granian's ASGI interface without lifespan (``asginl``), HTTP/1.1, one
    worker on uvloop. Its WebSockets (tungstenite) accept messages up to
    64 MiB and cannot be told otherwise, and it would drop them on SIGTERM:
    its worker loads the application through
    ``config.granian_worker.load_application``, which closes a socket with
    1009 over 1 MiB and every socket with 1012 on SIGTERM. granian has no
    compression and reads no proxy headers (its proxy wrapper is not
    used)."""
    from granian.constants import HTTPModes, Interfaces, Loops
    from granian.log import LogLevels
    from granian.server import Server

    from config.granian_worker import load_application

    server = Server(
        args.application,
        address=args.bind,
        port=args.port,
        interface=Interfaces.ASGINL,
        http=HTTPModes.http1,
        websockets=True,
        loop=Loops.uvloop,
        workers=1,
        # Every open WebSocket counts against this; granian's default
        # (backlog / workers, 1,024) would queue sockets beyond it.
        backpressure=GRANIAN_BACKPRESSURE,
        log_enabled=True,
        log_level=LogLevels(logging.getLevelName(log_level()).lower()),
        log_access=access_log_wanted(),
        workers_kill_timeout=SHUTDOWN_SECONDS,
    )
    server.serve(target_loader=load_application)


def main(argv: Sequence[str] | None = None) -> None:
    server, rest = split_server(sys.argv[1:] if argv is None else argv)
    if server == "daphne":
        run_daphne(rest)
    elif server == "uvicorn":
        run_uvicorn(common_arguments(server, rest))
    else:
        run_granian(common_arguments(server, rest))


if __name__ == "__main__":
    main()
