"""Celery tasks of the notifications app: thin, they take ids and call a service."""

from celery import shared_task


@shared_task(acks_late=True)
def notify_message(message_id: str, mentions_only: bool = False) -> int:
    """Tell the members of a new (or, ``mentions_only``, newly mentioning)
    message's conversation; see ``services.fanout.notify_message``."""
    from notifications.services import fanout

    return fanout.notify_message(message_id=message_id, mentions_only=mentions_only)


@shared_task(acks_late=True)
def notify_added(
    conversation_id: str,
    user_ids: list[str],
    actor_id: str | None = None,
    message_id: str | None = None,
) -> int:
    """Tell people they were added to a conversation; see
    ``services.fanout.notify_added``."""
    from notifications.services import fanout

    return fanout.notify_added(
        conversation_id=conversation_id,
        user_ids=user_ids,
        actor_id=actor_id,
        message_id=message_id,
    )
