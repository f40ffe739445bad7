"""Reads of a person's reminders."""

from uuid import UUID

from django.db.models import QuerySet
from django.utils.translation import gettext as _

from accounts.models import User
from messaging.errors import NotFound
from messaging.integrations.models import Reminder, ReminderState

LISTED = (ReminderState.PENDING, ReminderState.FIRED)


def reminders_of(user: User, *, states: tuple[str, ...] = LISTED) -> QuerySet[Reminder]:
    """The person's reminders in ``states`` (pending and fired by default),
    soonest first, each with its message and conversation loaded."""
    return (
        Reminder.objects.filter(user=user, state__in=states)
        .select_related("message__conversation", "message__sender")
        .order_by("remind_at", "id")
    )


def reminder_of(user: User, reminder_id: UUID | str) -> Reminder:
    """One of the person's own reminders, not cancelled; ``not_found`` for
    anyone else's, as for one that does not exist."""
    reminder = reminders_of(user).filter(pk=reminder_id).first()
    if reminder is None:
        raise NotFound(_("No such reminder."))
    return reminder
