"""The answer to a socket that the database cannot serve yet.

Before the consumer runs, Channels' auth middleware loads the session and
the user from PostgreSQL. When the database is unreachable that fails
(bounded by ``config.database``) and, unhandled, daphne would refuse the
handshake with HTTP 500. ``DatabaseFaultGuard`` answers as the protocol
documents instead: the socket opens, gets an ``error`` frame with code
``unavailable`` and ``retry_after``, and closes with 4503 (try again later).
"""

import logging

from config.database import DATABASE_FAULTS
from messaging import events
from messaging.errors import ServiceUnavailable
from messaging.realtime.consumers import CLOSE_TRY_AGAIN_LATER

logger = logging.getLogger(__name__)


class DatabaseFaultGuard:
    def __init__(self, inner):
        self.inner = inner

    async def __call__(self, scope, receive, send):
        answered = False

        async def tracked_send(message):
            nonlocal answered
            answered = True
            await send(message)

        try:
            return await self.inner(scope, receive, tracked_send)
        except DATABASE_FAULTS:
            if answered or scope["type"] != "websocket":
                raise
            logger.warning("Refused a socket: the database is unavailable", exc_info=True)
        error = ServiceUnavailable()
        message = await receive()
        if message["type"] != "websocket.connect":
            return
        await send({"type": "websocket.accept"})
        await send(
            {
                "type": "websocket.send",
                "text": events.to_json(
                    {
                        "type": "error",
                        "code": error.code,
                        "message": error.message,
                        "retry_after": error.retry_after,
                    }
                ),
            }
        )
        await send({"type": "websocket.close", "code": CLOSE_TRY_AGAIN_LATER})
