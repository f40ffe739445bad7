"""Live presence: online / away / offline per user, over all their sockets on
all server processes.

Each socket is one entry in the presence store (``messaging.realtime.
backends``: Redis in production, memory in the embedded default). A user is
online if any live entry is online, away if all live entries are away,
offline when none is left. This process's sockets are refreshed every
heartbeat and expired entries swept (``messaging.realtime.maintenance``);
an entry belongs to a live socket (``LocalSocket.alive``), so a consumer
that died without ``disconnect()`` is dropped, not refreshed. While the
store (Redis) is unreachable, writes are skipped, reads answer ``unknown``
and the per-user socket cap counts this process's sockets only.
Every change is written to ``user_presence`` (``messaging.services.presence``)
and announced to the people who share a conversation with the user.
"""

import asyncio
import logging
import weakref
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from messaging import events
from messaging.realtime import health, selectors
from messaging.realtime.backends import PresenceChange, StoreUnavailable, presence_store
from messaging.realtime.backends.base import ONLINE
from messaging.realtime.database import db
from messaging.services.presence import record_presence

__all__ = [
    "UNKNOWN",
    "LocalSocket",
    "PresenceChange",
    "announce",
    "announce_current",
    "connect",
    "disconnect",
    "local_sockets",
    "set_status",
    "statuses",
    "statuses_sync",
]

logger = logging.getLogger(__name__)

# The status reported while the presence store (Redis) cannot be reached.
UNKNOWN = "unknown"


@dataclass
class LocalSocket:
    """A socket this process serves, as its heartbeat sees it. It is alive
    while the task that registered it (the consumer's) runs and the consumer
    exists: a consumer that died without ``disconnect()`` is dropped at the
    next heartbeat instead of being refreshed forever."""

    user_id: str
    status: str
    task: "weakref.ref[asyncio.Task] | None" = None
    consumer: "weakref.ref | None" = None

    def alive(self) -> bool:
        task = self.task() if self.task is not None else None
        if self.task is not None and (task is None or task.done()):
            return False
        return self.consumer is None or self.consumer() is not None

    def live_consumer(self):
        """The consumer object, if it is alive and was registered."""
        return self.consumer() if self.consumer is not None and self.alive() else None


# socket id -> LocalSocket of the sockets each event loop serves (one loop per
# server process; tests run one per test). A socket's id is its own
# (``ChatConsumer.socket_id``): sockets have no channel-layer channel.
_local: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, LocalSocket]]" = (
    weakref.WeakKeyDictionary()
)


def local_sockets() -> dict[str, LocalSocket]:
    """``socket id -> LocalSocket`` for the sockets this process serves: what
    its heartbeat refreshes."""
    return _local.setdefault(asyncio.get_running_loop(), {})


def _connections_here(user_id: str) -> int:
    return sum(1 for s in local_sockets().values() if s.user_id == user_id and s.alive())


async def _put(user_id: str, socket_id: str, status: str) -> PresenceChange:
    """Write the entry; while the store is away, report no change and count
    this process's live sockets only (the per-user cap then holds per
    process)."""
    try:
        change = await presence_store().put(user_id, socket_id, status)
    except StoreUnavailable as error:
        health.report_failure("presence", error)
        return PresenceChange(user_id, status, status, _connections_here(user_id))
    return change


async def connect(
    user_id: UUID | str, socket_id: str, status: str = ONLINE, *, consumer=None
) -> PresenceChange:
    """Register a new socket of ``user_id``, served by the calling task
    (and ``consumer``): the entry lives while they do."""
    task = asyncio.current_task()
    local_sockets()[socket_id] = LocalSocket(
        str(user_id),
        status,
        weakref.ref(task) if task is not None else None,
        weakref.ref(consumer) if consumer is not None else None,
    )
    return await _put(str(user_id), socket_id, status)


async def set_status(user_id: UUID | str, socket_id: str, status: str) -> PresenceChange:
    """Change the status of one of ``user_id``'s sockets."""
    local = local_sockets().get(socket_id)
    if local is not None:
        local.status = status
    return await _put(str(user_id), socket_id, status)


async def disconnect(user_id: UUID | str, socket_id: str) -> PresenceChange:
    """Forget a closed socket of ``user_id``. While the store is away its
    entry stays there, unrefreshed, and expires."""
    local_sockets().pop(socket_id, None)
    try:
        return await presence_store().remove(user_id, socket_id)
    except StoreUnavailable as error:
        health.report_failure("presence", error)
        return PresenceChange(str(user_id), ONLINE, ONLINE, _connections_here(str(user_id)))


async def statuses(user_ids: Iterable[UUID | str]) -> dict[str, dict]:
    """``{user_id: {"status", "last_seen"}}`` for each id; live status from the
    store (``unknown`` while it cannot be reached), ``last_seen`` from
    ``user_presence``."""
    ids = [str(u) for u in user_ids]
    try:
        live = await presence_store().statuses(ids)
    except StoreUnavailable as error:
        health.report_failure("presence", error)
        live = dict.fromkeys(ids, UNKNOWN)
    return _with_last_seen(live, await db(selectors.last_seen)(ids))


def statuses_sync(user_ids: Iterable[UUID | str]) -> dict[str, dict]:
    """``statuses`` for sync callers (the REST API): no event loop, and the
    caller's database connection is used as it is."""
    ids = [str(u) for u in user_ids]
    try:
        live = presence_store().statuses_sync(ids)
    except StoreUnavailable as error:
        health.report_failure("presence", error)
        live = dict.fromkeys(ids, UNKNOWN)
    return _with_last_seen(live, selectors.last_seen(ids))


def _with_last_seen(live: dict[str, str], last_seen: dict[str, str]) -> dict[str, dict]:
    return {
        user_id: {"status": status, "last_seen": last_seen.get(user_id)}
        for user_id, status in live.items()
    }


def _record(user_id: str, status: str) -> tuple[datetime | None, list[str]]:
    seen = record_presence(user_id=user_id, status=status)
    return seen, (selectors.contact_ids(user_id) if seen is not None else [])


async def announce(change: PresenceChange) -> None:
    """Record a changed status and push it to the user's contacts. Best
    effort: presence is a hint, and a database or Redis fault here must not
    take the socket down with it."""
    if not change.changed:
        return
    try:
        seen, contacts = await db(_record)(change.user_id, change.after)
    except Exception:
        logger.warning("Could not record presence of %s", change.user_id, exc_info=True)
        return
    if not contacts:
        return  # the account is gone, or shares no conversation: nobody to tell
    await events.apublish_to_users(
        contacts, events.presence(user_id=change.user_id, status=change.after, last_seen=seen)
    )


async def announce_current(user_id: UUID | str) -> None:
    """Tell the user's contacts the status they have now, whatever they were
    last told (a change held by ``presence_pace``)."""
    try:
        live = await presence_store().statuses([str(user_id)])
    except StoreUnavailable as error:
        health.report_failure("presence", error)
        return
    status = live.get(str(user_id))
    if status is not None:
        await announce(PresenceChange(str(user_id), "", status, 0))
