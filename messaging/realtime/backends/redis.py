"""The production backend: presence and rate limits in Redis, shared by every
server process. Each operation is one Lua script, so it is atomic across
processes; the async client serves the consumer, the sync client the REST
API, and both run the same script and parse its reply the same way.
"""

import asyncio
import contextlib
import functools
import weakref
from collections.abc import Iterator
from typing import Any

import redis
import redis.asyncio as aioredis
from django.conf import settings

from config.redis_circuit import CircuitOpen, circuit_for
from messaging.realtime.backends.base import (
    PresenceStore,
    RateLimiter,
    StoreUnavailable,
    aggregate,
)

# What an unreachable, refusing or too slow Redis raises.
REDIS_FAULTS = (redis.RedisError, OSError, asyncio.TimeoutError)


@contextlib.contextmanager
def _unavailable_on_fault(url: str, *, probe: bool = False) -> Iterator[None]:
    """Turn a Redis fault into ``StoreUnavailable``, through the server's
    circuit (``config.redis_circuit``): moments after a failure the call is
    not made at all. A ``probe`` (the maintenance loop's ping) always goes:
    it is how recovery is noticed."""
    try:
        with circuit_for(url).guarded(REDIS_FAULTS, probe=probe):
            yield
    except CircuitOpen as error:
        raise StoreUnavailable(str(error)) from error
    except REDIS_FAULTS as error:
        raise StoreUnavailable(f"{type(error).__name__}: {error}") from error


def _timeouts() -> dict:
    """Every call is bounded (settings ``REDIS_SOCKET_TIMEOUT`` and
    ``REDIS_CONNECT_TIMEOUT``), and a failed one is not retried here: the
    caller degrades at once instead of waiting through retries."""
    return {
        "socket_timeout": settings.REDIS_SOCKET_TIMEOUT,
        "socket_connect_timeout": settings.REDIS_CONNECT_TIMEOUT,
        "retry_on_timeout": False,
    }


# KEYS[1]: the user's hash, KEYS[2]: index of users by earliest expiry.
# ARGV: op (set | del | sweep), channel, status, now, ttl, user_id.
# "before" counts expired entries still present (what others were last told);
# "after" drops them. Numbers are stored with all 17 digits: Lua's tostring
# keeps 14, a tenth of a millisecond at today's epoch.
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
  redis.call('HSET', key, channel, status .. ':' .. string.format('%.17g', now + ttl))
elseif op == 'del' then
  redis.call('HDEL', key, channel)
end
local after, count, earliest = aggregate(true)
if earliest then redis.call('ZADD', index, earliest, user) else redis.call('ZREM', index, user) end
return {before, after, count}
"""

# KEYS[1]: the bucket; ARGV: rate, burst, now. Returns {allowed, retry_after}.
# Numbers kept with all 17 digits, as above.
TOKEN_BUCKET = """
local rate, burst, now = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local state = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens = tonumber(state[1]) or burst
local ts = tonumber(state[2]) or now
tokens = math.min(burst, tokens + math.max(0, now - ts) * rate)
local allowed, retry = 0, 0
if tokens >= 1 then
  tokens = tokens - 1
  allowed = 1
else
  retry = (1 - tokens) / rate
end
local function exact(x) return string.format('%.17g', x) end
redis.call('HSET', KEYS[1], 'tokens', exact(tokens), 'ts', exact(now))
redis.call('EXPIRE', KEYS[1], math.ceil(burst / rate) + 1)
return {allowed, exact(retry)}
"""

# An asyncio client is bound to the loop that made it: one per loop and URL.
_ClientsByUrl = dict[str, aioredis.Redis]
_async_clients: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _ClientsByUrl]" = (
    weakref.WeakKeyDictionary()
)


def async_client(url: str) -> aioredis.Redis:
    """The running loop's client for ``url``.

    Its pool holds at most ``REDIS_MAX_CONNECTIONS`` connections and a call
    past that waits for one (for at most the socket timeout) rather than
    failing: redis-py's default pool raises "Too many connections" past
    100, which a burst of connecting sockets (each one presence script)
    reaches, and each failure marked live delivery degraded."""
    clients = _async_clients.setdefault(asyncio.get_running_loop(), {})
    client = clients.get(url)
    if client is None:
        pool = aioredis.BlockingConnectionPool.from_url(
            url,
            decode_responses=True,
            max_connections=settings.REDIS_MAX_CONNECTIONS,
            timeout=settings.REDIS_SOCKET_TIMEOUT,
            **_timeouts(),
        )
        client = clients[url] = aioredis.Redis(connection_pool=pool)
    return client


@functools.cache
def sync_client(url: str) -> redis.Redis:
    """One thread-safe client (a connection pool) per ``url`` for sync code."""
    return redis.Redis.from_url(url, decode_responses=True, **_timeouts())


class _Script:
    """A Lua script for both clients: run through EVALSHA, so its text is
    sent to Redis once."""

    def __init__(self, source: str):
        self.source = source
        # Registered once per client, not on every call (redis-py hashes
        # the text and builds the script's object each time).
        self._scripts: weakref.WeakKeyDictionary[Any, Any] = weakref.WeakKeyDictionary()

    def registered(self, client: Any) -> Any:
        script = self._scripts.get(client)
        if script is None:
            script = self._scripts[client] = client.register_script(self.source)
        return script

    async def run(self, url: str, keys: list[str], args: list) -> list:
        with _unavailable_on_fault(url):
            return await self.registered(async_client(url))(keys=keys, args=args)

    def run_sync(self, url: str, keys: list[str], args: list) -> list:
        with _unavailable_on_fault(url):
            return self.registered(sync_client(url))(keys=keys, args=args)


_apply = _Script(APPLY)
_token_bucket = _Script(TOKEN_BUCKET)

# Presence scripts one pipeline carries (a heartbeat's, in chunks).
PIPELINE_SCRIPTS = 200


class RedisPresenceStore(PresenceStore):
    def __init__(self, url: str, prefix: str):
        self.url = url
        self.prefix = prefix

    def key(self, user_id: str) -> str:
        """The hash of ``user_id``'s socket entries, ``channel -> "status:expires_at"``."""
        return f"{self.prefix}:presence:{user_id}"

    def index_key(self) -> str:
        """Users scored by their earliest entry expiry: what a sweep visits."""
        return f"{self.prefix}:presence:index"

    async def _write(
        self, op: str, user_id: str, channel: str, status: str, now: float, ttl: int
    ) -> tuple[str, str, int]:
        return _written(
            await _apply.run(self.url, **self._apply_call(op, user_id, channel, status, now, ttl))
        )

    def _apply_call(
        self, op: str, user_id: str, channel: str, status: str, now: float, ttl: int
    ) -> dict[str, list]:
        """The ``APPLY`` script's keys and arguments for one operation."""
        return {
            "keys": [self.key(user_id), self.index_key()],
            "args": [op, channel, status, now, ttl, user_id],
        }

    async def _write_many(
        self, operations: list[tuple[str, str, str, str]], now: float, ttl: int
    ) -> list[tuple[str, str, int]]:
        """The scripts in pipelines of ``PIPELINE_SCRIPTS``: one round trip
        each instead of one per entry, and Redis never runs thousands of
        them back to back while other clients wait."""
        written: list[tuple[str, str, int]] = []
        client = async_client(self.url)
        script = _apply.registered(client)
        for start in range(0, len(operations), PIPELINE_SCRIPTS):
            with _unavailable_on_fault(self.url):
                async with client.pipeline(transaction=False) as pipe:
                    for operation in operations[start : start + PIPELINE_SCRIPTS]:
                        await script(**self._apply_call(*operation, now, ttl), client=pipe)
                    replies = await pipe.execute()
            written.extend(_written(reply) for reply in replies)
        return written

    async def _due(self, now: float) -> list[str]:
        with _unavailable_on_fault(self.url):
            due = await async_client(self.url).zrangebyscore(self.index_key(), "-inf", now)
        return [str(user_id) for user_id in due]

    async def _ping(self) -> None:
        with _unavailable_on_fault(self.url, probe=True):
            await async_client(self.url).ping()

    async def _statuses(self, user_ids: list[str], now: float) -> dict[str, str]:
        with _unavailable_on_fault(self.url):
            async with async_client(self.url).pipeline(transaction=False) as pipe:
                for user_id in user_ids:
                    pipe.hgetall(self.key(user_id))
                return _live(user_ids, await pipe.execute(), now)

    def _statuses_sync(self, user_ids: list[str], now: float) -> dict[str, str]:
        with (
            _unavailable_on_fault(self.url),
            sync_client(self.url).pipeline(transaction=False) as pipe,
        ):
            for user_id in user_ids:
                pipe.hgetall(self.key(user_id))
            return _live(user_ids, pipe.execute(), now)


def _live(user_ids: list[str], stored: list[dict[str, str]], now: float) -> dict[str, str]:
    """Aggregate each user's stored entries, ignoring expired ones."""
    live = {}
    for user_id, entries in zip(user_ids, stored, strict=True):
        statuses = []
        for value in entries.values():
            status, _, expires = value.partition(":")
            if float(expires) >= now:
                statuses.append(status)
        live[user_id] = aggregate(statuses)
    return live


class RedisRateLimiter(RateLimiter):
    def __init__(self, url: str, prefix: str):
        self.url = url
        self.prefix = prefix

    def _key(self, name: str) -> str:
        return f"{self.prefix}:rate:{name}"

    async def _take(self, key: str, rate: float, burst: int, now: float) -> float:
        return _retry_after(await _token_bucket.run(self.url, [key], [rate, burst, now]))

    def _take_sync(self, key: str, rate: float, burst: int, now: float) -> float:
        return _retry_after(_token_bucket.run_sync(self.url, [key], [rate, burst, now]))


def _written(reply: list) -> tuple[str, str, int]:
    """``(before, after, live entries left)`` from an ``APPLY`` reply."""
    before, after, count = reply
    return before, after, int(count)


def _retry_after(reply: list) -> float:
    allowed, retry = reply
    return 0.0 if int(allowed) else float(retry)
