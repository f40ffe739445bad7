"""The durable side of presence: ``user_presence`` rows (last status and
``last_seen``). The only writes of that table; live presence is kept by
``messaging.realtime``, which calls these when a status changes and at
every heartbeat."""

from collections.abc import Iterable
from datetime import datetime, timedelta
from uuid import UUID

from django.utils import timezone

from accounts.models import User
from messaging import limits
from messaging.models import UserPresence

# People whose last_seen one statement moves on (its parameters stay well
# under PostgreSQL's 65,535).
TOUCH_BATCH = 5000


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
    return row.last_seen  # a new row takes its insert time (auto_now_add)


def touch_last_seen(*, user_ids: Iterable[UUID | str]) -> int:
    """Move the ``last_seen`` of each of ``user_ids`` to now, unless it was
    written within ``LAST_SEEN_WRITE_INTERVAL_SECONDS`` (a status change
    counts as a write). Returns how many it wrote.

    A process's heartbeat calls it once for the people of all its sockets:
    one statement, whose condition on ``last_seen`` itself spares the rows
    written recently (by this process, another, or a status change)."""
    now = timezone.now()
    recent = now - timedelta(seconds=limits.last_seen_write_interval_seconds())
    people = list(dict.fromkeys(str(user_id) for user_id in user_ids))
    written = 0
    for start in range(0, len(people), TOUCH_BATCH):
        written += UserPresence.objects.filter(
            user_id__in=people[start : start + TOUCH_BATCH], last_seen__lt=recent
        ).update(last_seen=now)
    return written
