"""Live presence: online / away / offline per user, over all their sockets on
all server processes.

Each socket is one entry ``channel -> "status:expires_at"`` in a per-user
hash (Redis in production, a dict in the embedded default). A user is online
if any live entry is online, away if all live entries are away, offline when
none is left. Server processes refresh their sockets' entries every
heartbeat; a process that dies stops refreshing, its entries expire after
``PRESENCE_TTL_SECONDS`` and the next sweep, by any surviving process,
announces its users offline. Every change is announced to the people who
share a conversation with the user and written to ``user_presence``;
``last_seen`` is otherwise written at most once a minute per user.
"""

import asyncio
import logging
import time
from typing import NamedTuple

from channels.db import database_sync_to_async
from django.conf import settings
from django.core.cache import cache
from django.utils import timezone

from accounts.models import User
from messaging import events
from messaging.models import ConversationParticipant, PresenceStatus, UserPresence
from messaging.realtime.redis_client import get_redis, get_sync_redis

logger = logging.getLogger(__name__)

ONLINE, AWAY, OFFLINE = PresenceStatus.ONLINE, PresenceStatus.AWAY, PresenceStatus.OFFLINE


class PresenceChange(NamedTuple):
    user_id: str
    before: str
    after: str
    connections: int

    @property
    def changed(self) -> bool:
        return self.before != self.after


def ttl_seconds() -> int:
    return settings.PARLEY["PRESENCE_TTL_SECONDS"]


def heartbeat_seconds() -> int:
    """How often sockets are refreshed: often enough that a live one never
    expires between two beats."""
    return min(settings.PARLEY["PRESENCE_HEARTBEAT_SECONDS"], max(1, ttl_seconds() // 3))


def _key(user_id: str) -> str:
    return f"{settings.REDIS_KEY_PREFIX}:presence:{user_id}"


def _index_key() -> str:
    return f"{settings.REDIS_KEY_PREFIX}:presence:index"


# KEYS[1]: the user's hash, KEYS[2]: index of users by earliest expiry.
# ARGV: op (set | del | sweep), channel, status, now, ttl, user_id.
# "before" counts expired entries still present (what others were last told);
# "after" drops them.
APPLY = """
local key, index = KEYS[1], KEYS[2]
local op, channel, status = ARGV[1], ARGV[2], ARGV[3]
local now, ttl, user = tonumber(ARGV[4]), tonumber(ARGV[5]), ARGV[6]
local function aggregate(drop_expired)
  local entries = redis.call('HGETALL', key)
  local result, count, earliest = 'offline', 0, nil
  for i = 1, #entries, 2 do
    local value = entries[i + 1]
    local sep = string.find(value, ':', 1, true)
    local st, exp = string.sub(value, 1, sep - 1), tonumber(string.sub(value, sep + 1))
    if drop_expired and exp < now then
      redis.call('HDEL', key, entries[i])
    else
      count = count + 1
      if st == 'online' then result = 'online' elseif result == 'offline' then result = 'away' end
      if earliest == nil or exp < earliest then earliest = exp end
    end
  end
  return result, count, earliest
end
local before = aggregate(false)
if op == 'set' then
  redis.call('HSET', key, channel, status .. ':' .. tostring(now + ttl))
elseif op == 'del' then
  redis.call('HDEL', key, channel)
end
local after, count, earliest = aggregate(true)
if earliest then redis.call('ZADD', index, earliest, user) else redis.call('ZREM', index, user) end
return {before, after, count}
"""

# The embedded default's store: user_id -> {channel: (status, expires_at)}.
_memory: dict[str, dict[str, tuple[str, float]]] = {}


def _aggregate(entries) -> str:
    statuses = [status for status, _ in entries]
    if ONLINE in statuses:
        return ONLINE
    return AWAY if statuses else OFFLINE


def _apply_memory(op: str, user_id: str, channel: str, status: str, now: float, ttl: int):
    entries = _memory.setdefault(user_id, {})
    before = _aggregate(entries.values())
    if op == "set":
        entries[channel] = (status, now + ttl)
    elif op == "del":
        entries.pop(channel, None)
    for name, (_, expires) in list(entries.items()):
        if expires < now:
            del entries[name]
    if not entries:
        _memory.pop(user_id, None)
    return before, _aggregate(entries.values()), len(entries)


async def _apply(op: str, user_id, channel: str = "", status: str = "") -> PresenceChange:
    user_id = str(user_id)
    ttl = ttl_seconds()
    now = time.time()
    client = get_redis()
    if client is None:
        before, after, count = _apply_memory(op, user_id, channel, status, now, ttl)
    else:
        before, after, count = await client.register_script(APPLY)(
            keys=[_key(user_id), _index_key()], args=[op, channel, status, now, ttl, user_id]
        )
    return PresenceChange(user_id, before, after, int(count))


async def connect(user_id, channel: str, status: str = ONLINE) -> PresenceChange:
    local_connections()[channel] = (str(user_id), status)
    _ensure_maintenance()
    return await _apply("set", user_id, channel, status)


async def set_status(user_id, channel: str, status: str) -> PresenceChange:
    local_connections()[channel] = (str(user_id), status)
    return await _apply("set", user_id, channel, status)


async def disconnect(user_id, channel: str) -> PresenceChange:
    local_connections().pop(channel, None)
    return await _apply("del", user_id, channel)


async def refresh_local() -> None:
    """Extend the expiry of this process's sockets (its heartbeat)."""
    for channel, (user_id, status) in list(local_connections().items()):
        change = await _apply("set", user_id, channel, status)
        if change.changed:
            # The entry had expired and been swept (a stalled process).
            await announce(change)
    for user_id in {user_id for user_id, _ in local_connections().values()}:
        await _touch_last_seen(user_id)


async def sweep() -> list[PresenceChange]:
    """Drop expired sockets of every user and announce who went offline or away."""
    now = time.time()
    client = get_redis()
    if client is None:
        due = [u for u, entries in _memory.items() if any(e < now for _, e in entries.values())]
    else:
        due = await client.zrangebyscore(_index_key(), "-inf", now)
    changes = []
    for user_id in due:
        try:
            change = await _apply("sweep", user_id)
            if change.changed:
                await announce(change)
                changes.append(change)
        except Exception:
            # One user's failure must not keep everyone else online.
            logger.exception("Presence sweep failed for user %s", user_id)
    return changes


def _live(user_ids: list[str], stored: list[dict], now: float) -> dict[str, str]:
    """Aggregate each user's stored socket entries (``channel ->
    "status:expires"``), ignoring expired ones."""
    live = {}
    for user_id, entries in zip(user_ids, stored, strict=True):
        alive = []
        for value in entries.values():
            status, _, expires = value.partition(":")
            if float(expires) >= now:
                alive.append((status, float(expires)))
        live[user_id] = _aggregate(alive)
    return live


def _from_memory(user_ids: list[str], now: float) -> dict[str, str]:
    return {
        user_id: _aggregate([e for e in _memory.get(user_id, {}).values() if e[1] >= now])
        for user_id in user_ids
    }


def _with_last_seen(live: dict[str, str], last_seen: dict[str, str]) -> dict[str, dict]:
    return {
        user_id: {"status": status, "last_seen": last_seen.get(user_id)}
        for user_id, status in live.items()
    }


async def statuses(user_ids) -> dict[str, dict]:
    """``{user_id: {"status", "last_seen"}}`` for each id; live status from the
    store, ``last_seen`` from ``user_presence``."""
    user_ids = [str(u) for u in user_ids]
    now = time.time()
    client = get_redis()
    if client is None:
        live = _from_memory(user_ids, now)
    else:
        async with client.pipeline(transaction=False) as pipe:
            for user_id in user_ids:
                pipe.hgetall(_key(user_id))
            live = _live(user_ids, await pipe.execute(), now)
    return _with_last_seen(live, await database_sync_to_async(_last_seen)(user_ids))


def statuses_sync(user_ids) -> dict[str, dict]:
    """``statuses`` for sync callers (the REST API): no event loop, and the
    caller's database connection is left alone."""
    user_ids = [str(u) for u in user_ids]
    now = time.time()
    client = get_sync_redis()
    if client is None:
        live = _from_memory(user_ids, now)
    else:
        with client.pipeline(transaction=False) as pipe:
            for user_id in user_ids:
                pipe.hgetall(_key(user_id))
            live = _live(user_ids, pipe.execute(), now)
    return _with_last_seen(live, _last_seen(user_ids))


def _last_seen(user_ids) -> dict[str, str]:
    return {
        str(user_id): seen.isoformat()
        for user_id, seen in UserPresence.objects.filter(user_id__in=user_ids).values_list(
            "user_id", "last_seen"
        )
    }


# --- Announcing -------------------------------------------------------------------


def contact_ids(user_id) -> list[str]:
    """People who share an active conversation with ``user_id``, and the user."""
    conversations = ConversationParticipant.objects.active().filter(user_id=user_id)
    return [
        str(pk)
        for pk in ConversationParticipant.objects.active()
        .filter(conversation_id__in=conversations.values("conversation_id"))
        .values_list("user_id", flat=True)
        .distinct()
    ]


def _record(user_id: str, status: str):
    now = timezone.now()
    if not User.objects.filter(pk=user_id).exists():
        return now, []  # the account is gone; nobody to tell
    UserPresence.objects.update_or_create(
        user_id=user_id, defaults={"status": status, "last_seen": now}
    )
    cache.set(_last_seen_gate(user_id), 1, _last_seen_interval())
    return now, contact_ids(user_id)


async def announce(change: PresenceChange) -> None:
    """Record a changed status and push it to the user's contacts."""
    if not change.changed:
        return
    seen, contacts = await database_sync_to_async(_record)(change.user_id, change.after)
    await events.apublish_many(
        (events.user_group(contact) for contact in contacts),
        events.presence(user_id=change.user_id, status=change.after, last_seen=seen),
    )


def _last_seen_gate(user_id: str) -> str:
    """A cache key whose presence means last_seen was written recently."""
    return f"presence-last-seen:{user_id}"


def _last_seen_interval() -> int:
    return settings.PARLEY["LAST_SEEN_WRITE_INTERVAL_SECONDS"]


def _write_last_seen(user_id: str) -> None:
    if cache.add(_last_seen_gate(user_id), 1, _last_seen_interval()):
        UserPresence.objects.filter(user_id=user_id).update(last_seen=timezone.now())


async def _touch_last_seen(user_id: str) -> None:
    await database_sync_to_async(_write_last_seen)(user_id)


# --- This process's sockets and its maintenance loop ------------------------------

_local: "dict[asyncio.AbstractEventLoop, dict[str, tuple[str, str]]]" = {}
_maintenance: "dict[asyncio.AbstractEventLoop, asyncio.Task]" = {}


def local_connections() -> dict[str, tuple[str, str]]:
    """``channel -> (user_id, status)`` for the sockets this process serves."""
    return _local.setdefault(asyncio.get_running_loop(), {})


def _ensure_maintenance() -> None:
    loop = asyncio.get_running_loop()
    task = _maintenance.get(loop)
    if task is None or task.done():
        _maintenance[loop] = loop.create_task(_maintain(loop))


async def _maintain(loop) -> None:
    """Heartbeat and sweep while this process serves any socket."""
    heartbeat = heartbeat_seconds()
    try:
        while _local.get(loop):
            await asyncio.sleep(heartbeat)
            try:
                await refresh_local()
                await sweep()
            except Exception:
                logger.exception("Presence maintenance failed; retrying next beat")
    finally:
        _maintenance.pop(loop, None)
        if not _local.get(loop):
            _local.pop(loop, None)
