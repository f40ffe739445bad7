"""The scheduled messages' Celery task: thin, it calls the service."""

from celery import shared_task

from messaging.integrations.scheduling import services


@shared_task(ignore_result=True, acks_late=True)
def send_due_scheduled_messages() -> int:
    """Send the scheduled messages that are due (periodic, every few
    seconds). Safe to run twice, or in several workers at once: each
    message is sent once (``services.send_scheduled``). Returns how many
    were sent or failed."""
    from messaging.integrations import sweeps

    return services.send_due(now=sweeps.due_for_worker())
