"""Versions in the shared cache of what each process keeps a copy of (the
content filter's rules, the role limits): a key per set of rows, given a
new value when the rows change, read by every send to know whether its
process's copy is still good.

A send read two of them, each a round trip to Redis while it held its
database thread. ``read_together`` reads the versions a piece of work will
ask for in one ``get_many`` first; ``current`` then answers from what was
read, within that work and its thread only. Outside it, ``current`` reads
the cache as each version used to be read.
"""

import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from django.core.cache import cache

_read = threading.local()


def current(key: str) -> str:
    """The version under ``key`` (given one now if the cache has none).
    Raises the cache's own errors: each caller has its fallback."""
    version = getattr(_read, "versions", {}).get(key)
    if version is None:
        version = cache.get(key)
    if version is None:
        cache.add(key, uuid.uuid4().hex, timeout=None)
        version = cache.get(key)
    return str(version)


@contextmanager
def read_together(*keys: str) -> Iterator[None]:
    """Within the block, ``current(key)`` for these keys answers from one
    read of them all. A cache that does not answer leaves each to be read
    (and to fail) as outside the block."""
    try:
        versions = cache.get_many(keys)
    except Exception:
        versions = {}
    _read.versions = versions
    try:
        yield
    finally:
        _read.versions = {}
