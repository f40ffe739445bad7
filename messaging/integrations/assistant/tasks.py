"""The assistant's Celery task: thin, it takes ids and calls the service."""

from uuid import UUID

from celery import shared_task
from django.conf import settings

from messaging.integrations.assistant import services

# One call is bounded by AI_TOTAL_TIMEOUT_SECONDS; the task's limits sit a
# little above, for the posting and editing around it.
_CALL_BOUND = settings.AI_TOTAL_TIMEOUT_SECONDS


@shared_task(
    ignore_result=True,
    acks_late=True,
    soft_time_limit=_CALL_BOUND + 30,
    time_limit=_CALL_BOUND + 60,
)
def answer_message(bot_id: str, message_id: str) -> None:
    """The assistant ``bot_id`` (its user's id) answers ``message_id``
    (``services.answer``). Safe to run twice: the answer's client_id is
    derived from both ids, so it is posted once."""
    services.answer(bot_id=UUID(bot_id), message_id=UUID(message_id))
