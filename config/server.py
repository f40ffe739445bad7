"""``python -m config.server``: daphne, answering an oversized frame as
docs/protocol.md promises.

daphne refuses a WebSocket frame or message over its limit (1 MiB) by
dropping the TCP connection: autobahn fails a connection "by drop" unless
told otherwise, so the client sees a reset, not a close. This runs daphne's
own command line with one change: a failed connection is closed with a close
frame first, so an oversized frame is answered with close code 1009 (message
too big). Frames over Parley's own limit (``PARLEY_MAX_FRAME_BYTES``, 64 KiB)
but under daphne's get the ``frame_too_large`` error and the socket stays
open. Arguments are daphne's.
"""

import daphne.server  # noqa: I001 - installs Twisted's asyncio reactor first
from daphne.cli import CommandLineInterface
from daphne.ws_protocol import WebSocketFactory


class ClosingWebSocketFactory(WebSocketFactory):
    def resetProtocolOptions(self) -> None:
        super().resetProtocolOptions()
        # Close with a status code (1009 for a frame over the size limit)
        # rather than dropping the TCP connection.
        self.failByDrop = False


daphne.server.WebSocketFactory = ClosingWebSocketFactory

if __name__ == "__main__":
    CommandLineInterface.entrypoint()
