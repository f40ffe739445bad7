"""Each server process's upkeep of its sockets, while it serves any:

- every second, while Redis is unreachable, a probe; when live delivery
  stops or comes back every socket is told (docs/protocol.md ``degraded``)
  and, on recovery, the channel layer subscribes the hub's channel and
  groups again (``messaging.realtime.hub``);
- every few seconds on the embedded default, the integrations' live sweeps
  (due scheduled messages, due reminders: ``messaging.integrations.sweeps``),
  so that their frames reach this process's sockets;
- every heartbeat (``PRESENCE_HEARTBEAT_SECONDS``): the presence entries of
  live sockets are refreshed and those of dead ones (a consumer that died
  without ``disconnect()``) dropped; users' ``last_seen`` moves on; expired
  entries left by processes that died are swept, their users announced
  offline or away; and every socket's session and account are checked
  again, closing with 4401 those revoked (a lost revoke event delays
  revocation by one heartbeat, not forever).

The Celery task ``messaging.tasks.sweep_presence`` runs the same sweep when
no process serves a socket.
"""

import asyncio
import logging
import time
import weakref
from collections import defaultdict

from messaging import events, limits
from messaging.errors import ServiceUnavailable
from messaging.integrations import sweeps
from messaging.realtime import health, presence
from messaging.realtime import selectors as realtime_selectors
from messaging.realtime.backends import PresenceChange, StoreUnavailable, presence_store
from messaging.realtime.database import db
from messaging.realtime.hub import hub
from messaging.services.presence import touch_last_seen

logger = logging.getLogger(__name__)

# How often the loop wakes: to probe Redis while it is away, and to tell
# sockets of a change in live delivery.
TICK_SECONDS = 1.0
# How often, on the embedded default, the process sends due scheduled
# messages and fires due reminders itself (messaging.integrations.sweeps).
LIVE_SWEEP_SECONDS = 5.0

_running: "dict[asyncio.AbstractEventLoop, asyncio.Task]" = {}
_told_stopped: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, weakref.WeakSet]" = (
    weakref.WeakKeyDictionary()
)


def ensure_running() -> None:
    """Start this process's maintenance loop unless it is running."""
    loop = asyncio.get_running_loop()
    task = _running.get(loop)
    if task is None or task.done():
        _running[loop] = loop.create_task(_maintain(loop))


async def _maintain(loop: asyncio.AbstractEventLoop) -> None:
    """Watch live delivery every tick and beat every heartbeat while this
    process serves any socket."""
    last_beat = last_sweep = time.monotonic()
    try:
        while presence.local_sockets():
            beat = limits.presence_heartbeat_seconds()
            await asyncio.sleep(min(TICK_SECONDS, beat))
            try:
                await watch_live_delivery()
                if (
                    sweeps.in_server_process()
                    and time.monotonic() - last_sweep >= LIVE_SWEEP_SECONDS
                ):
                    last_sweep = time.monotonic()
                    await db(sweeps.run_live)()
                if time.monotonic() - last_beat >= beat:
                    last_beat = time.monotonic()
                    await heartbeat()
                    await sweep()
                    await recheck_access()
            except Exception:
                logger.exception("Socket maintenance failed; retrying next beat")
    finally:
        _running.pop(loop, None)


async def watch_live_delivery() -> None:
    """Probe Redis while it is away; tell every socket whose client last
    heard otherwise whether live delivery works."""
    if not health.live():
        try:
            await presence_store().ping()
        except StoreUnavailable:
            pass
        else:
            health.report_ok()
            await events.resubscribe()
            # Sockets resume what they missed (told below): the hub must not
            # read the same gap from PostgreSQL and send it a second time.
            hub().live_delivery_restored()
            # A restarted Redis has lost every entry: write ours back now.
            await heartbeat()
    live, reason = health.live(), health.reason()
    if live:
        # Only the sockets told it had stopped can have been told otherwise.
        consumers = [c for c in list(told_stopped()) if not c.released]
    else:
        consumers = [s.live_consumer() for s in list(presence.local_sockets().values())]
    for consumer in consumers:
        # A socket still connecting hears of it right after its hello.
        if consumer is not None and consumer.greeted and consumer.live_delivery_told != live:
            await consumer.tell_live_delivery(live, reason)


def told_stopped() -> "weakref.WeakSet":
    """The running loop's sockets last told that live delivery had stopped
    (the consumer keeps it): while it works, a tick looks at these alone,
    not at each of the thousands of sockets every second."""
    loop = asyncio.get_running_loop()
    found = _told_stopped.get(loop)
    if found is None:
        found = _told_stopped[loop] = weakref.WeakSet()
    return found


async def heartbeat() -> None:
    """Extend the expiry of this process's live sockets, drop the entries of
    dead ones, and move their users' ``last_seen`` on (at most once a
    ``LAST_SEEN_WRITE_INTERVAL_SECONDS``)."""
    store = presence_store()
    sockets = presence.local_sockets()
    live: list[tuple[str, presence.LocalSocket]] = []
    dead: list[tuple[str, presence.LocalSocket]] = []
    for socket_id, socket in list(sockets.items()):
        (live if socket.alive() else dead).append((socket_id, socket))
    try:
        # Every live socket's entry in one go (pipelined by the store).
        changes = await store.put_many(
            [(socket.user_id, socket_id, socket.status) for socket_id, socket in live]
        )
        for socket_id, socket in dead:
            sockets.pop(socket_id, None)
            changes.append(await store.remove(socket.user_id, socket_id))
        for change in changes:
            if change.changed:
                # A dead socket's user went offline, or the entry had expired
                # and been swept (a stalled process, a restarted Redis).
                await presence.announce(change)
    except StoreUnavailable as error:
        health.report_failure("presence heartbeat", error)
    people = {socket.user_id for socket in list(sockets.values())}
    if people:
        try:
            await db(touch_last_seen)(user_ids=people)
        except ServiceUnavailable:
            logger.warning("Could not move last_seen on: the database is unavailable")


async def sweep() -> list[PresenceChange]:
    """Drop expired sockets of every user and announce who went offline or away."""
    store = presence_store()
    changes: list[PresenceChange] = []
    try:
        due = await store.due()
    except StoreUnavailable as error:
        health.report_failure("presence sweep", error)
        return changes
    for user_id in due:
        try:
            change = await store.expire(user_id)
            if change.changed:
                await presence.announce(change)
                changes.append(change)
        except Exception:
            # One user's failure must not keep everyone else online.
            logger.exception("Presence sweep failed for user %s", user_id)
    return changes


async def recheck_access() -> int:
    """Close (4401) every socket of this process whose session or account
    no longer stands, or whose person's role or staff status changed since
    it connected. While the database cannot answer, sockets stay open (they
    can do nothing that needs it) and are checked at the next beat.
    Returns how many sockets were closed."""
    consumers = defaultdict(list)
    for socket in list(presence.local_sockets().values()):
        consumer = socket.live_consumer()
        if consumer is not None:
            consumers[(consumer.session_key, socket.user_id)].append(consumer)
    if not consumers:
        return 0
    try:
        revoked, powers = await db(_access_now)(list(consumers))
    except ServiceUnavailable:
        logger.warning("Could not re-check socket sessions: the database is unavailable")
        return 0
    closed = 0
    for pair, sockets in consumers.items():
        for consumer in sockets:
            if pair in revoked or powers.get(pair[1]) != consumer.user.powers:
                consumer.revoke()
                closed += 1
    return closed


def _access_now(pairs: list[tuple[str | None, str]]) -> tuple[set, dict[str, tuple]]:
    """``revoked_sockets`` and ``current_powers`` of ``pairs``, in one trip
    to the thread pool."""
    return (
        realtime_selectors.revoked_sockets(pairs),
        realtime_selectors.current_powers(user_id for _, user_id in pairs),
    )
