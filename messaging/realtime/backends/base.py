"""What the real-time package needs of its shared store, whichever backend
keeps it: live presence entries and per-user rate-limit buckets.

The public methods here hold what both backends share (reading the clock
and the limits at call time, turning a spent bucket into ``RateLimited``);
each backend implements the few ``_`` hooks once, with a sync and an async
variant where both the REST API (sync) and the consumer (async) call it.
"""

from abc import ABC, abstractmethod
from collections.abc import Iterable, Sequence
from typing import NamedTuple
from uuid import UUID

from django.utils.translation import gettext as _

from messaging import limits
from messaging.errors import RateLimited
from messaging.models import PresenceStatus
from messaging.realtime import clock

# Plain text, as Redis returns it, so both backends report equal values.
ONLINE, AWAY, OFFLINE = (
    PresenceStatus.ONLINE.value,
    PresenceStatus.AWAY.value,
    PresenceStatus.OFFLINE.value,
)


class StoreUnavailable(Exception):
    """The shared store (Redis) did not answer in time or refused: the
    caller degrades (``messaging.realtime.health``) rather than failing."""


class PresenceChange(NamedTuple):
    """One user's aggregate status before and after a store operation, and
    how many live sockets they have left."""

    user_id: str
    before: str
    after: str
    connections: int

    @property
    def changed(self) -> bool:
        return self.before != self.after


def aggregate(statuses: Iterable[str]) -> str:
    """Online if any socket is online, away if all are away, offline if none."""
    result = OFFLINE
    for status in statuses:
        if status == ONLINE:
            return ONLINE
        result = AWAY
    return result


class PresenceStore(ABC):
    """Each socket is one entry ``channel -> (status, expires_at)`` of its
    user. ``put`` writes or refreshes an entry for ``PRESENCE_TTL_SECONDS``;
    an entry not refreshed in time expires.

    Every write reports a ``PresenceChange``: ``before`` still counts expired
    entries that nobody has removed (that is what contacts were last told),
    ``after`` drops them. Reads (``statuses``) ignore expired entries.
    """

    async def put(self, user_id: UUID | str, channel: str, status: str) -> PresenceChange:
        """Add or refresh ``channel``'s entry with ``status``."""
        return await self._apply("set", str(user_id), channel, status)

    async def put_many(self, entries: Sequence[tuple[str, str, str]]) -> list[PresenceChange]:
        """``put`` for each ``(user_id, channel, status)``, in order: a
        heartbeat refreshes every socket of its process at once. Each entry
        is still written atomically on its own."""
        now, ttl = clock.wall(), limits.presence_ttl_seconds()
        written = await self._write_many([("set", *entry) for entry in entries], now, ttl)
        return [
            PresenceChange(user_id, before, after, count)
            for (user_id, _channel, _status), (before, after, count) in zip(
                entries, written, strict=True
            )
        ]

    async def _write_many(
        self, operations: list[tuple[str, str, str, str]], now: float, ttl: int
    ) -> list[tuple[str, str, int]]:
        """``_write`` of each ``(op, user_id, channel, status)``; a store
        with round trips overrides it to make fewer."""
        return [await self._write(*operation, now, ttl) for operation in operations]

    async def remove(self, user_id: UUID | str, channel: str) -> PresenceChange:
        """Drop ``channel``'s entry (its socket closed)."""
        return await self._apply("del", str(user_id), channel, "")

    async def expire(self, user_id: UUID | str) -> PresenceChange:
        """Drop ``user_id``'s expired entries."""
        return await self._apply("sweep", str(user_id), "", "")

    async def due(self) -> list[str]:
        """Ids of the users with an entry whose expiry has come."""
        return await self._due(clock.wall())

    async def ping(self) -> None:
        """Return if the store answers; raise StoreUnavailable otherwise."""
        await self._ping()

    async def _ping(self) -> None:
        return None

    async def statuses(self, user_ids: Iterable[UUID | str]) -> dict[str, str]:
        """``{user_id: aggregate status}`` of the live entries, for async callers."""
        return await self._statuses([str(u) for u in user_ids], clock.wall())

    def statuses_sync(self, user_ids: Iterable[UUID | str]) -> dict[str, str]:
        """``statuses`` for sync callers (the REST API)."""
        return self._statuses_sync([str(u) for u in user_ids], clock.wall())

    async def _apply(self, op: str, user_id: str, channel: str, status: str) -> PresenceChange:
        before, after, count = await self._write(
            op, user_id, channel, status, clock.wall(), limits.presence_ttl_seconds()
        )
        return PresenceChange(user_id, before, after, count)

    @abstractmethod
    async def _write(
        self, op: str, user_id: str, channel: str, status: str, now: float, ttl: int
    ) -> tuple[str, str, int]:
        """Apply ``op`` (``set``, ``del`` or ``sweep``) atomically and return
        ``(before, after, live entries left)``."""

    @abstractmethod
    async def _due(self, now: float) -> list[str]: ...

    @abstractmethod
    async def _statuses(self, user_ids: list[str], now: float) -> dict[str, str]: ...

    @abstractmethod
    def _statuses_sync(self, user_ids: list[str], now: float) -> dict[str, str]: ...


class RateLimiter(ABC):
    """A token bucket per user and kind: ``SEND_RATE_PER_SECOND`` tokens a
    second, up to ``SEND_BURST``; each take spends one or raises
    ``RateLimited`` with the time until the next token."""

    async def take(
        self,
        user_id: UUID | str,
        *,
        kind: str = "send",
        allowance: limits.SendAllowance | None = None,
    ) -> None:
        """Spend one token of ``user_id``'s bucket or raise RateLimited.
        ``allowance``: the person's rate and burst (their role's,
        ``limits.send_allowance``); the deployment's settings without it."""
        _spent(await self._take(*self._bucket(user_id, kind, allowance)))

    def take_sync(
        self,
        user_id: UUID | str,
        *,
        kind: str = "send",
        allowance: limits.SendAllowance | None = None,
    ) -> None:
        """``take`` for sync callers (the REST API)."""
        _spent(self._take_sync(*self._bucket(user_id, kind, allowance)))

    def _bucket(
        self, user_id: UUID | str, kind: str, allowance: limits.SendAllowance | None
    ) -> tuple[str, float, int, float]:
        allowance = allowance or limits.send_allowance()
        return (self._key(f"{kind}:{user_id}"), allowance.rate, allowance.burst, clock.wall())

    def _key(self, name: str) -> str:
        return name

    @abstractmethod
    async def _take(self, key: str, rate: float, burst: int, now: float) -> float:
        """Spend one token of bucket ``key`` if it has one: 0 then, else the
        seconds until it will."""

    @abstractmethod
    def _take_sync(self, key: str, rate: float, burst: int, now: float) -> float: ...


def _spent(retry_after: float) -> None:
    if retry_after:
        wait = max(retry_after, 0.1)
        raise RateLimited(
            _("Too many messages; wait %(seconds)ss.") % {"seconds": f"{wait:.1f}"},
            retry_after=round(wait, 3),
        )
