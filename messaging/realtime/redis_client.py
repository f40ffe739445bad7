"""Redis clients for Parley's own keys, or None in the embedded default:
one asyncio client per event loop (a client is bound to the loop that made
it), and one thread-safe client for sync code (views, tasks)."""

import asyncio
import functools
import weakref

import redis
import redis.asyncio as aioredis
from django.conf import settings

_clients: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, aioredis.Redis]" = (
    weakref.WeakKeyDictionary()
)


def get_redis() -> aioredis.Redis | None:
    if not settings.REDIS_URL:
        return None
    loop = asyncio.get_running_loop()
    client = _clients.get(loop)
    if client is None:
        client = aioredis.from_url(settings.REDIS_URL, decode_responses=True)
        _clients[loop] = client
    return client


@functools.cache
def _sync_client(url: str) -> redis.Redis:
    return redis.Redis.from_url(url, decode_responses=True)


def get_sync_redis() -> redis.Redis | None:
    return _sync_client(settings.REDIS_URL) if settings.REDIS_URL else None
