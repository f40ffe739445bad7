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

Every call goes through the server's circuit (``config.redis_circuit``):
moments after a call failed, the next ones fail at once instead of each
waiting out the socket timeout (callers already treat a cache error as a
miss).
"""

import functools
import threading
from functools import cached_property

import redis
from django.core.cache.backends.redis import RedisCache, RedisCacheClient

from config.redis_circuit import circuit_for

# What a Redis that is away, refusing or too slow raises (not an error in
# the command itself, which says nothing about the server).
_FAULTS = (redis.ConnectionError, redis.TimeoutError, OSError)
# What a caller of the cache sees when Redis is away: those, or the circuit's
# ``CircuitOpen`` (a ``ConnectionError``, hence an ``OSError``).
CACHE_FAULTS = _FAULTS


def _through_circuit(operation):
    @functools.wraps(operation)
    def call(self, *args, **kwargs):
        with circuit_for(self._servers[0]).guarded(_FAULTS):
            return operation(self, *args, **kwargs)

    return call


class CircuitRedisCacheClient(RedisCacheClient):
    """Django's client, each operation through the server's circuit."""

    add = _through_circuit(RedisCacheClient.add)
    get = _through_circuit(RedisCacheClient.get)
    set = _through_circuit(RedisCacheClient.set)
    touch = _through_circuit(RedisCacheClient.touch)
    delete = _through_circuit(RedisCacheClient.delete)
    get_many = _through_circuit(RedisCacheClient.get_many)
    has_key = _through_circuit(RedisCacheClient.has_key)
    incr = _through_circuit(RedisCacheClient.incr)
    set_many = _through_circuit(RedisCacheClient.set_many)
    delete_many = _through_circuit(RedisCacheClient.delete_many)
    clear = _through_circuit(RedisCacheClient.clear)


# (servers, options) -> the process's client for them.
_clients: dict[tuple[str, str], RedisCacheClient] = {}
_clients_lock = threading.Lock()


class ProcessRedisCache(RedisCache):
    """``RedisCache`` whose client and pool are the process's (see the module)."""

    @cached_property
    def _cache(self) -> RedisCacheClient:
        # RedisCache's own settings (private, hence vars()); options are plain
        # settings values, not always hashable: their repr tells two apart.
        mine = vars(self)
        key = (repr(mine["_servers"]), repr(sorted(mine["_options"].items())))
        with _clients_lock:
            client = _clients.get(key)
            if client is None:
                # As RedisCache._cache builds it, once per process.
                client = _clients[key] = CircuitRedisCacheClient(
                    mine["_servers"], **mine["_options"]
                )
        return client
