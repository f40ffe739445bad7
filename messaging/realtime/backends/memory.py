"""The embedded default's backend: presence and rate limits kept in this
process, which is the only one. A lock makes each operation atomic, as the
Redis scripts are, between the event loop and the REST API's threads.

Each method mirrors its Redis script line for line; tests/realtime/
test_backends.py runs the same scenarios on both and compares the results.
"""

import threading

from messaging.realtime.backends.base import PresenceStore, RateLimiter, aggregate


class MemoryPresenceStore(PresenceStore):
    def __init__(self) -> None:
        self._lock = threading.Lock()
        # user_id -> {channel: (status, expires_at)}
        self._entries: dict[str, dict[str, tuple[str, float]]] = {}

    async def _write(
        self, op: str, user_id: str, channel: str, status: str, now: float, ttl: int
    ) -> tuple[str, str, int]:
        with self._lock:
            entries = self._entries.setdefault(user_id, {})
            before = aggregate(st for st, _ in entries.values())
            if op == "set":
                entries[channel] = (status, now + ttl)
            elif op == "del":
                entries.pop(channel, None)
            for name, (_, expires) in list(entries.items()):
                if expires < now:
                    del entries[name]
            if not entries:
                del self._entries[user_id]
            return before, aggregate(st for st, _ in entries.values()), len(entries)

    async def _due(self, now: float) -> list[str]:
        with self._lock:
            return [
                user_id
                for user_id, entries in self._entries.items()
                if min(expires for _, expires in entries.values()) <= now
            ]

    async def _statuses(self, user_ids: list[str], now: float) -> dict[str, str]:
        return self._statuses_sync(user_ids, now)

    def _statuses_sync(self, user_ids: list[str], now: float) -> dict[str, str]:
        with self._lock:
            return {
                user_id: aggregate(
                    st for st, expires in self._entries.get(user_id, {}).values() if expires >= now
                )
                for user_id in user_ids
            }


class MemoryRateLimiter(RateLimiter):
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._buckets: dict[str, tuple[float, float]] = {}  # key -> (tokens, updated_at)

    async def _take(self, key: str, rate: float, burst: int, now: float) -> float:
        return self._take_sync(key, rate, burst, now)

    def _take_sync(self, key: str, rate: float, burst: int, now: float) -> float:
        with self._lock:
            tokens, ts = self._buckets.get(key, (burst, now))
            tokens = min(burst, tokens + max(0.0, now - ts) * rate)
            retry = 0.0
            if tokens >= 1:
                tokens -= 1
            else:
                retry = (1 - tokens) / rate
            self._buckets[key] = (tokens, now)
            return retry
