"""Per-user token bucket for socket writes: ``rate`` tokens a second, up to
``burst``. Shared by all server processes through Redis in production; kept
in the process in the embedded default (there is only one process)."""

import time

from django.conf import settings

from messaging.errors import RateLimited
from messaging.realtime.redis_client import get_redis, get_sync_redis

# KEYS[1]: the bucket; ARGV: rate, burst, now. Returns {allowed, retry_after}.
# Run through register_script: EVALSHA, so the script text is sent once.
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
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'ts', tostring(now))
redis.call('EXPIRE', KEYS[1], math.ceil(burst / rate) + 1)
return {allowed, tostring(retry)}
"""

_local_buckets: dict[str, tuple[float, float]] = {}


def _take_local(key: str, rate: float, burst: float, now: float) -> float:
    tokens, ts = _local_buckets.get(key, (burst, now))
    tokens = min(burst, tokens + max(0.0, now - ts) * rate)
    if tokens >= 1:
        _local_buckets[key] = (tokens - 1, now)
        return 0.0
    _local_buckets[key] = (tokens, now)
    return (1 - tokens) / rate


def _bucket(user_id, kind: str) -> tuple[str, float, int, float]:
    limits = settings.PARLEY
    key = f"{settings.REDIS_KEY_PREFIX}:rate:{kind}:{user_id}"
    return key, limits["SEND_RATE_PER_SECOND"], limits["SEND_BURST"], time.time()


def _spent(retry_after: float) -> None:
    if retry_after:
        wait = max(retry_after, 0.1)
        raise RateLimited(f"Too many messages; wait {wait:.1f}s.", retry_after=round(wait, 3))


def _retry_after(reply) -> float:
    allowed, retry = reply
    return 0.0 if int(allowed) else float(retry)


async def take(user_id, *, kind: str = "send") -> None:
    """Spend one token of ``user_id``'s bucket or raise RateLimited."""
    key, rate, burst, now = _bucket(user_id, kind)
    client = get_redis()
    if client is None:
        _spent(_take_local(key, rate, burst, now))
    else:
        bucket = client.register_script(TOKEN_BUCKET)
        _spent(_retry_after(await bucket(keys=[key], args=[rate, burst, now])))


def take_sync(user_id, *, kind: str = "send") -> None:
    """``take`` for sync callers (the REST API)."""
    key, rate, burst, now = _bucket(user_id, kind)
    client = get_sync_redis()
    if client is None:
        _spent(_take_local(key, rate, burst, now))
    else:
        bucket = client.register_script(TOKEN_BUCKET)
        _spent(_retry_after(bucket(keys=[key], args=[rate, burst, now])))
