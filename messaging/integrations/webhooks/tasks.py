"""The webhooks' Celery tasks: thin, they take ids and call services."""

from uuid import UUID

from celery import shared_task
from django.conf import settings

from messaging import events
from messaging.integrations.webhooks.services import outgoing

# One call is bounded by the outgoing timeout; the task's limits sit a
# little above it, so a worker is never held longer.
_CALL_BOUND = float(settings.PARLEY_OUTGOING_WEBHOOK_TIMEOUT_SECONDS)


@shared_task(ignore_result=True, acks_late=True)
def route_message(message_id: str) -> None:
    """Queue what a message just sent calls for: one delivery task per bot
    URL to tell, one assistant task per assistant bot concerned. Safe to run
    twice (``outgoing.route_message``). On the embedded default they run in
    this process instead, beside the send (``events.enqueue``): a bot's
    answer posted by a worker would reach no socket there."""
    routed = outgoing.route_message(message_id=UUID(message_id))
    for delivery_id in routed.deliveries:
        events.enqueue(deliver_outgoing, delivery_id, beside=True)
    if routed.assistants:
        # Written beside this package; imported only when an assistant bot
        # is concerned.
        from messaging.integrations.assistant.tasks import answer_message

        for bot_id in routed.assistants:
            events.enqueue(answer_message, bot_id, message_id, beside=True)


@shared_task(
    ignore_result=True,
    acks_late=True,
    soft_time_limit=_CALL_BOUND + 10,
    time_limit=_CALL_BOUND + 15,
)
def deliver_outgoing(delivery_id: str) -> None:
    """One attempt at a delivery; the next one is queued with its wait when
    the attempt should be made again. A delivered or failed delivery is not
    called again, however often this runs."""
    wait = outgoing.attempt_delivery(delivery_id=UUID(delivery_id))
    if wait is not None:
        deliver_outgoing.apply_async(args=[delivery_id], countdown=wait)
