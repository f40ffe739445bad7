"""The durable side of presence: ``user_presence`` rows (last status and
``last_seen``). The only writes of that table; live presence is kept by
``messaging.realtime``, which calls these when a status changes and at
every heartbeat."""

import logging
from datetime import datetime
from uuid import UUID

from django.core.cache import cache
from django.utils import timezone

from accounts.models import User
from messaging import limits
from messaging.models import UserPresence

logger = logging.getLogger(__name__)


def _last_seen_gate(user_id: UUID | str) -> str:
    """A cache key whose presence means last_seen was written recently."""
    return f"presence-last-seen:{user_id}"


def record_presence(*, user_id: UUID | str, status: str) -> datetime | None:
    """Store ``status`` as ``user_id``'s last status, seen now. Returns the
    ``last_seen`` written, or None when the account no longer exists (then
    nothing is written)."""
    now = timezone.now()
    if not User.objects.filter(pk=user_id).exists():
        return None
    row, _ = UserPresence.objects.update_or_create(
        user_id=user_id, defaults={"status": status, "last_seen": now}
    )
    try:
        cache.set(_last_seen_gate(user_id), 1, limits.last_seen_write_interval_seconds())
    except Exception:
        # The cache (Redis) only spares writes; without it the next
        # heartbeat writes last_seen again.
        logger.debug("Could not set the last_seen gate of %s", user_id, exc_info=True)
    return row.last_seen  # a new row takes its insert time (auto_now_add)


def touch_last_seen(*, user_id: UUID | str) -> bool:
    """Move ``user_id``'s ``last_seen`` to now, at most once per
    ``LAST_SEEN_WRITE_INTERVAL_SECONDS`` (a status change counts as a write).
    Returns whether it wrote."""
    try:
        fresh = cache.add(_last_seen_gate(user_id), 1, limits.last_seen_write_interval_seconds())
    except Exception:
        fresh = True  # the cache is away: write, as at most once per heartbeat
    if not fresh:
        return False
    UserPresence.objects.filter(user_id=user_id).update(last_seen=timezone.now())
    return True
