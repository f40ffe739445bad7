"""Django's Redis cache with one client (one connection pool) per process.

Django keeps a cache backend per asyncio context: ``caches`` is an asgiref
``Local``, and a backend created inside ``sync_to_async`` is copied back into
the calling task's context. Under ASGI every request, and every WebSocket
for its whole life, so got a ``RedisCache`` of its own, with its own
``RedisCacheClient``, connection pool and open Redis connection: about 10 KB
and one Redis client connection per idle socket, once the socket had read a
cached value (its role's limits, at connect). Here every backend of a
process with the same servers and options shares one ``RedisCacheClient``;
redis-py's pool is thread-safe and hands each call a connection of its own.
Each context still gets its ``RedisCache`` (key prefix, version, timeouts:
a few hundred bytes), which is what Django's per-context design asks.
"""

import threading
from functools import cached_property
from typing import Any

from django.core.cache.backends.redis import RedisCache, RedisCacheClient

# (servers, options) -> the process's client for them.
_clients: dict[tuple[str, str], RedisCacheClient] = {}
_clients_lock = threading.Lock()


class ProcessRedisCache(RedisCache):
    """``RedisCache`` whose client and pool are the process's (see the module)."""

    def __init__(self, server: str | list[str], params: dict[str, Any]) -> None:
        super().__init__(server, params)
        # What tells two configurations apart. Options are plain settings
        # values, not always hashable: their repr does.
        self._process_key = (repr(server), repr(sorted(params.get("OPTIONS", {}).items())))

    @cached_property
    def _cache(self) -> RedisCacheClient:
        with _clients_lock:
            client = _clients.get(self._process_key)
            if client is None:
                # As RedisCache._cache builds it, once per process (its
                # attributes are private, hence vars()).
                mine = vars(self)
                client = mine["_class"](mine["_servers"], **mine["_options"])
                _clients[self._process_key] = client
        return client
