"""Demo content: Sam has a pending reminder and one that fired (in his
notification centre), and a calendar feed."""

import datetime as dt

from django.utils import timezone

from accounts.models import User
from messaging.integrations.calendar import services as calendar_services
from messaging.integrations.models import Reminder
from messaging.integrations.reminders import services
from messaging.models import ConversationParticipant, Message, MessageType

PENDING_NOTE = "Answer this before the next session"
FIRED_NOTE = "Look at this again"


def _message_for(user: User) -> Message | None:
    """The latest message someone else sent in a conversation ``user`` is in."""
    member_of = ConversationParticipant.objects.active().filter(user=user).values("conversation_id")
    return (
        Message.objects.filter(
            conversation_id__in=member_of,
            deleted_at__isnull=True,
            hidden_at__isnull=True,
        )
        .exclude(message_type=MessageType.SYSTEM)
        .exclude(sender=user)
        .order_by("-sent_at")
        .first()
    )


def seed_demo(users: dict[str, User]) -> None:
    """Idempotent: a reminder already there (by its note) is not made again."""
    sam = users.get("sam@parley.test")
    if sam is None:
        return
    calendar_services.feed_for(user=sam)
    message = _message_for(sam)
    if message is None:
        return
    notes = set(Reminder.objects.filter(user=sam).values_list("note", flat=True))
    if PENDING_NOTE not in notes:
        services.create_reminder(
            user=sam,
            message_id=message.pk,
            remind_at=timezone.now() + dt.timedelta(days=1),
            note=PENDING_NOTE,
        )
    if FIRED_NOTE not in notes:
        # Due a moment from now and fired at once: it reads as fired at
        # its time (a preset 20 minutes ahead read "12:20 · Fired" at 12:07).
        reminder = services.create_reminder(
            user=sam,
            message_id=message.pk,
            remind_at=timezone.now() + dt.timedelta(seconds=5),
            note=FIRED_NOTE,
        )
        services.fire_reminder(reminder_id=reminder.pk)
