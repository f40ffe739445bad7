"""Per-user token bucket for socket and API writes: ``SEND_RATE_PER_SECOND``
tokens a second, up to ``SEND_BURST`` (or the sender's role's own figures,
``RoleLimits``, when the caller names the role), in this process's backend
(``messaging.realtime.backends``: Redis, shared by every server process, or
memory in the embedded default).

When Redis cannot be reached the bucket is kept in this process's memory
instead (the same rate per process, so a user spread over N processes may
send up to N times as fast during the outage): a send needs only
PostgreSQL, never Redis. The outage is logged once
(``messaging.realtime.health``).
"""

import threading
from uuid import UUID

from accounts.models import User
from messaging import limits
from messaging.realtime import health
from messaging.realtime.backends import StoreUnavailable, rate_limiter
from messaging.realtime.backends.memory import MemoryRateLimiter
from messaging.realtime.database import db

_fallback: MemoryRateLimiter | None = None
_fallback_lock = threading.Lock()


def fallback_limiter() -> MemoryRateLimiter:
    """This process's own buckets, used while the shared store is away."""
    global _fallback
    with _fallback_lock:
        if _fallback is None:
            _fallback = MemoryRateLimiter()
        return _fallback


async def take(user_id: UUID | str, *, kind: str = "send", role: str | None = None) -> None:
    """Spend one token of ``user_id``'s bucket or raise RateLimited; with
    ``role``, the bucket has that role's rate and burst (``RoleLimits``)."""
    allowance = await db(limits.send_allowance)(role) if role else None
    try:
        await rate_limiter().take(user_id, kind=kind, allowance=allowance)
    except StoreUnavailable as error:
        health.report_failure("rate limit", error)
        await fallback_limiter().take(user_id, kind=kind, allowance=allowance)


def spend_send(user: User) -> None:
    """One token of ``user``'s send bucket (their role's rate and burst):
    every write that others see spends it, on the socket, the API and the
    pages alike (sends, edits, deletes, reactions, uploads, conversations
    made or changed, reports…), so no door is a way around the limit.
    ``RateLimited`` past it."""
    take_sync(user.pk, role=user.role)


def take_sync(
    user_id: UUID | str,
    *,
    kind: str = "send",
    role: str | None = None,
    allowance: limits.SendAllowance | None = None,
) -> None:
    """``take`` for sync callers (the REST API). ``allowance`` names the
    bucket's rate and burst outright (an incoming webhook's own bucket,
    ``user_id`` being the webhook's id and ``kind`` its own)."""
    if allowance is None and role:
        allowance = limits.send_allowance(role)
    try:
        rate_limiter().take_sync(user_id, kind=kind, allowance=allowance)
    except StoreUnavailable as error:
        health.report_failure("rate limit", error)
        fallback_limiter().take_sync(user_id, kind=kind, allowance=allowance)
