"""Celery tasks of the notifications app: thin, they take ids and call a service."""

from celery import shared_task


@shared_task(bind=True, acks_late=True)
def send_missed_messages(self, conversation_id: str, user_id: str) -> bool:
    """Email the person the conversation's messages they left unread
    (``services.missed_email``); safe to run twice, and run again by a
    dead worker's redelivery, it sends what it had claimed."""
    from notifications.services import missed_email

    return missed_email.send_missed_messages(
        conversation_id=conversation_id, user_id=user_id, run_id=self.request.id or ""
    )


@shared_task(bind=True, acks_late=True)
def send_notification_email(self, notification_id: str) -> bool:
    """Email one notification of a kind with an email of its own (a
    reminder; ``services.notification_email``); safe to run twice."""
    from notifications.services import notification_email

    return notification_email.send_notification_email(
        notification_id=notification_id, run_id=self.request.id or ""
    )


@shared_task(bind=True, acks_late=True)
def send_due_digests(self) -> int:
    """Send the digests whose local hour is now (beat runs this every 15
    minutes); safe to run twice in the same hour."""
    from notifications.services import digests

    return digests.send_due_digests(run_id=self.request.id or "")


@shared_task(acks_late=True, ignore_result=True)
def deliver_push(notification_ids: list[str]) -> None:
    """Send these notifications to their people's push devices. Idempotent:
    each send writes its delivery row first, so a redelivered task sends
    nothing twice (``notifications.services.push``)."""
    from notifications.services import push

    push.deliver_notifications(notification_ids=notification_ids)


@shared_task(acks_late=True)
def notify_message(message_id: str, mentions_only: bool = False) -> int:
    """Tell the members of a new (or, ``mentions_only``, newly mentioning)
    message's conversation; see ``services.fanout.notify_message``."""
    from notifications.services import fanout

    return fanout.notify_message(message_id=message_id, mentions_only=mentions_only)


@shared_task(acks_late=True)
def notify_conversations(conversation_ids: list[str]) -> int:
    """Tell the members of these conversations of their messages past the
    fan-out's cursor; see ``services.fanout_cursor`` (sends nudge this)."""
    from notifications.services import fanout_cursor

    return sum(fanout_cursor.notify_conversation(pk) for pk in conversation_ids)


@shared_task(acks_late=True)
def notify_pending() -> int:
    """The sweep (beat, every minute): conversations whose nudge was lost."""
    from notifications.services import fanout_cursor

    return fanout_cursor.notify_pending()


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
