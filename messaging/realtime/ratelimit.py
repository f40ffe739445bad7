"""Per-user token bucket for socket and API writes: ``SEND_RATE_PER_SECOND``
tokens a second, up to ``SEND_BURST``, in this process's backend
(``messaging.realtime.backends``: Redis, shared by every server process, or
memory in the embedded default)."""

from uuid import UUID

from messaging.realtime.backends import rate_limiter


async def take(user_id: UUID | str, *, kind: str = "send") -> None:
    """Spend one token of ``user_id``'s bucket or raise RateLimited."""
    await rate_limiter().take(user_id, kind=kind)


def take_sync(user_id: UUID | str, *, kind: str = "send") -> None:
    """``take`` for sync callers (the REST API)."""
    rate_limiter().take_sync(user_id, kind=kind)
