"""The threads package's Celery tasks: thin, they take ids and call services."""

from uuid import UUID

from celery import shared_task

from messaging import limits
from messaging.threads.services import previews

# The task makes two fetches (page, then image), each bounded by the preview
# timeout; its limits sit a little above, so a worker is never held longer
# even if something unbounded slipped past a fetch's deadline (the soft one
# raises inside the task, which ends the card failed).
_FETCH_BOUND = 2 * limits.link_preview_timeout_seconds()


@shared_task(
    ignore_result=True,
    acks_late=True,
    soft_time_limit=_FETCH_BOUND + 5,
    time_limit=_FETCH_BOUND + 10,
)
def fetch_link_preview(message_id: str) -> None:
    """Fetch a message's pending link card (``services.previews.fetch``).
    Safe to run twice: only a pending card is fetched, and only once."""
    previews.fetch(message_id=UUID(message_id))


@shared_task(ignore_result=True, acks_late=True)
def sweep_link_previews() -> int:
    """Cards stuck pending (periodic): queued again, or given up after an
    hour (``services.previews.requeue_stale``)."""
    return previews.requeue_stale()
