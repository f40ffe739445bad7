"""Celery tasks of the notifications app: thin, they take ids and call a service."""

from celery import shared_task


@shared_task(acks_late=True, ignore_result=True)
def deliver_push(notification_ids: list[str]) -> None:
    """Send these notifications to their people's push devices. Idempotent:
    each send writes its delivery row first, so a redelivered task sends
    nothing twice (``notifications.services.push``)."""
    from notifications.services import push

    push.deliver_notifications(notification_ids=notification_ids)
