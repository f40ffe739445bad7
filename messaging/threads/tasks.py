"""The threads package's Celery tasks: thin, they take ids and call services."""

from uuid import UUID

from celery import shared_task

from messaging.threads.services import previews


@shared_task(ignore_result=True, acks_late=True)
def fetch_link_preview(message_id: str) -> None:
    """Fetch a message's pending link card (``services.previews.fetch``).
    Safe to run twice: only a pending card is fetched, and only once."""
    previews.fetch(message_id=UUID(message_id))
