"""Each server process's presence upkeep: while it serves any socket, every
heartbeat it refreshes its sockets' entries (so they do not expire), moves
their users' ``last_seen`` on, and sweeps the store for entries left by
processes that died, announcing those users offline or away.

The Celery task ``messaging.tasks.sweep_presence`` runs the same sweep when
no process serves a socket.
"""

import asyncio
import logging

from channels.db import database_sync_to_async

from messaging import limits
from messaging.realtime import presence
from messaging.realtime.backends import PresenceChange, presence_store
from messaging.services.presence import touch_last_seen

logger = logging.getLogger(__name__)

_running: "dict[asyncio.AbstractEventLoop, asyncio.Task]" = {}


def ensure_running() -> None:
    """Start this process's maintenance loop unless it is running."""
    loop = asyncio.get_running_loop()
    task = _running.get(loop)
    if task is None or task.done():
        _running[loop] = loop.create_task(_maintain(loop))


async def _maintain(loop: asyncio.AbstractEventLoop) -> None:
    """Heartbeat and sweep while this process serves any socket."""
    try:
        while presence.local_sockets():
            await asyncio.sleep(limits.presence_heartbeat_seconds())
            try:
                await heartbeat()
                await sweep()
            except Exception:
                logger.exception("Presence maintenance failed; retrying next beat")
    finally:
        _running.pop(loop, None)


async def heartbeat() -> None:
    """Extend the expiry of this process's sockets and move their users'
    ``last_seen`` on (at most once a ``LAST_SEEN_WRITE_INTERVAL_SECONDS``)."""
    store = presence_store()
    sockets = list(presence.local_sockets().items())
    for channel, (user_id, status) in sockets:
        change = await store.put(user_id, channel, status)
        if change.changed:
            # The entry had expired and been swept (a stalled process).
            await presence.announce(change)
    for user_id in {user_id for _, (user_id, _) in sockets}:
        await database_sync_to_async(touch_last_seen)(user_id=user_id)


async def sweep() -> list[PresenceChange]:
    """Drop expired sockets of every user and announce who went offline or away."""
    store = presence_store()
    changes = []
    for user_id in await store.due():
        try:
            change = await store.expire(user_id)
            if change.changed:
                await presence.announce(change)
                changes.append(change)
        except Exception:
            # One user's failure must not keep everyone else online.
            logger.exception("Presence sweep failed for user %s", user_id)
    return changes
