"""The store behind live presence and rate limits, chosen once per process:
Redis when ``settings.REDIS_URL`` is set (every server process shares it),
this process's memory otherwise (the embedded default runs one process).

Callers ask ``presence_store()`` and ``rate_limiter()``; neither they nor the
backends test which one is in use. Tests that change ``REDIS_URL`` or
``REDIS_KEY_PREFIX`` get a fresh choice automatically (Django's
``setting_changed``); anything else that needs one calls ``reset()``.
"""

import threading
from typing import NamedTuple

from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver

from config import redis_circuit
from messaging.realtime.backends.base import (
    PresenceChange,
    PresenceStore,
    RateLimiter,
    StoreUnavailable,
    aggregate,
)

__all__ = [
    "PresenceChange",
    "PresenceStore",
    "RateLimiter",
    "StoreUnavailable",
    "aggregate",
    "presence_store",
    "rate_limiter",
    "reset",
]


class _Backends(NamedTuple):
    presence: PresenceStore
    rate_limiter: RateLimiter


_chosen: _Backends | None = None
_lock = threading.Lock()


def _choose() -> _Backends:
    if settings.REDIS_URL:
        from messaging.realtime.backends.redis import RedisPresenceStore, RedisRateLimiter

        url, prefix = settings.REDIS_URL, settings.REDIS_KEY_PREFIX
        return _Backends(RedisPresenceStore(url, prefix), RedisRateLimiter(url, prefix))
    from messaging.realtime.backends.memory import MemoryPresenceStore, MemoryRateLimiter

    return _Backends(MemoryPresenceStore(), MemoryRateLimiter())


def _backends() -> _Backends:
    global _chosen
    chosen = _chosen
    if chosen is None:
        with _lock:
            if _chosen is None:
                _chosen = _choose()
            chosen = _chosen
    return chosen


def presence_store() -> PresenceStore:
    """This process's presence store."""
    return _backends().presence


def rate_limiter() -> RateLimiter:
    """This process's rate limiter."""
    return _backends().rate_limiter


def reset() -> None:
    """Forget the choice (and the memory backend's state): the next call
    chooses again from the settings of that moment."""
    global _chosen
    with _lock:
        _chosen = None
    redis_circuit.reset()


@receiver(setting_changed)
def _reset_on_setting_change(*, setting: str, **kwargs) -> None:
    if setting in ("REDIS_URL", "REDIS_KEY_PREFIX"):
        reset()
