"""Live presence: online / away / offline per user, over all their sockets on
all server processes.

Each socket is one entry in the presence store (``messaging.realtime.
backends``: Redis in production, memory in the embedded default). A user is
online if any live entry is online, away if all live entries are away,
offline when none is left. This process's sockets are refreshed every
heartbeat and expired entries swept (``messaging.realtime.maintenance``).
Every change is written to ``user_presence`` (``messaging.services.presence``)
and announced to the people who share a conversation with the user.
"""

import asyncio
import weakref
from collections.abc import Iterable
from datetime import datetime
from uuid import UUID

from channels.db import database_sync_to_async

from messaging import events
from messaging.realtime import selectors
from messaging.realtime.backends import PresenceChange, presence_store
from messaging.realtime.backends.base import ONLINE
from messaging.services.presence import record_presence

__all__ = [
    "PresenceChange",
    "announce",
    "connect",
    "disconnect",
    "local_sockets",
    "set_status",
    "statuses",
    "statuses_sync",
]

# channel -> (user_id, status) of the sockets each event loop serves (one
# loop per server process; tests run one per test).
_local: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, tuple[str, str]]]" = (
    weakref.WeakKeyDictionary()
)


def local_sockets() -> dict[str, tuple[str, str]]:
    """``channel -> (user_id, status)`` for the sockets this process serves:
    what its heartbeat refreshes."""
    return _local.setdefault(asyncio.get_running_loop(), {})


async def connect(user_id: UUID | str, channel: str, status: str = ONLINE) -> PresenceChange:
    """Register a new socket of ``user_id``."""
    local_sockets()[channel] = (str(user_id), status)
    return await presence_store().put(user_id, channel, status)


async def set_status(user_id: UUID | str, channel: str, status: str) -> PresenceChange:
    """Change the status of one of ``user_id``'s sockets."""
    local_sockets()[channel] = (str(user_id), status)
    return await presence_store().put(user_id, channel, status)


async def disconnect(user_id: UUID | str, channel: str) -> PresenceChange:
    """Forget a closed socket of ``user_id``."""
    local_sockets().pop(channel, None)
    return await presence_store().remove(user_id, channel)


async def statuses(user_ids: Iterable[UUID | str]) -> dict[str, dict]:
    """``{user_id: {"status", "last_seen"}}`` for each id; live status from the
    store, ``last_seen`` from ``user_presence``."""
    user_ids = [str(u) for u in user_ids]
    live = await presence_store().statuses(user_ids)
    return _with_last_seen(live, await database_sync_to_async(selectors.last_seen)(user_ids))


def statuses_sync(user_ids: Iterable[UUID | str]) -> dict[str, dict]:
    """``statuses`` for sync callers (the REST API): no event loop, and the
    caller's database connection is used as it is."""
    user_ids = [str(u) for u in user_ids]
    return _with_last_seen(presence_store().statuses_sync(user_ids), selectors.last_seen(user_ids))


def _with_last_seen(live: dict[str, str], last_seen: dict[str, str]) -> dict[str, dict]:
    return {
        user_id: {"status": status, "last_seen": last_seen.get(user_id)}
        for user_id, status in live.items()
    }


def _record(user_id: str, status: str) -> tuple[datetime | None, list[str]]:
    seen = record_presence(user_id=user_id, status=status)
    return seen, (selectors.contact_ids(user_id) if seen is not None else [])


async def announce(change: PresenceChange) -> None:
    """Record a changed status and push it to the user's contacts."""
    if not change.changed:
        return
    seen, contacts = await database_sync_to_async(_record)(change.user_id, change.after)
    if not contacts:
        return  # the account is gone, or shares no conversation: nobody to tell
    await events.apublish_many(
        (events.user_group(contact) for contact in contacts),
        events.presence(user_id=change.user_id, status=change.after, last_seen=seen),
    )
