"""The reminders' periodic sweep (beat runs it every few seconds:
``notifications.services.schedules``)."""

from celery import shared_task


@shared_task(acks_late=True, ignore_result=True)
def sweep_reminders() -> int:
    """Fire every due reminder once; safe to run twice or at once
    (``services.fire_due_reminders``). Returns how many fired."""
    from messaging.integrations import sweeps
    from messaging.integrations.reminders import services

    return services.fire_due_reminders(now=sweeps.due_for_worker())
