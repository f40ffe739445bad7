"""Reads for the calendar feed: whose token it is, and what the person's
feed holds. Each read names the person: nothing of anyone else's enters."""

import datetime as dt
import re
from dataclasses import dataclass
from uuid import UUID

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from messaging import audit, policy
from messaging import selectors as messaging_selectors
from messaging.errors import NotFound
from messaging.integrations.meetings.selectors import announced_meetings
from messaging.integrations.models import (
    CalendarFeed,
    Meeting,
    Reminder,
    ReminderState,
    ScheduledMessage,
    ScheduledState,
)
from messaging.models import ConversationParticipant

# What ``services.new_token`` makes, and nothing longer than the column.
_TOKEN = re.compile(r"[A-Za-z0-9_-]{20,64}")


def owner_of_token(token: str) -> User | None:
    """The active person whose feed ``token`` opens; None for anything else
    (unknown, rotated, malformed, a deactivated account)."""
    if not _TOKEN.fullmatch(token or ""):
        return None
    feed = CalendarFeed.objects.select_related("user").filter(token=token).first()
    if feed is None or not feed.user.is_active:
        return None
    return feed.user


def feed_of(user: User) -> CalendarFeed | None:
    return CalendarFeed.objects.filter(user=user).first()


@dataclass(frozen=True)
class FeedItems:
    reminders: list[Reminder]
    scheduled: list[ScheduledMessage]
    meetings: list[Meeting]
    # conversation id -> what the person calls it
    names: dict[UUID, str]


def feed_items(user: User, *, now: dt.datetime | None = None) -> FeedItems:
    """The person's pending reminders (on messages of conversations they
    are still in), their scheduled messages still to be sent, and the
    meetings of the conversations they are in, from
    ``CALENDAR_FEED["PAST_DAYS"]`` ago on."""
    now = now or timezone.now()
    member_of = ConversationParticipant.objects.active().filter(user=user).values("conversation_id")
    reminders = list(
        Reminder.objects.filter(
            user=user,
            state=ReminderState.PENDING,
            message__conversation_id__in=member_of,
            message__deleted_at__isnull=True,
        )
        .select_related("message__conversation")
        .order_by("remind_at", "id")
    )
    scheduled = list(
        ScheduledMessage.objects.filter(
            author=user, state=ScheduledState.SCHEDULED, conversation_id__in=member_of
        )
        .select_related("conversation")
        .order_by("send_at", "id")
    )
    since = now - dt.timedelta(days=settings.CALENDAR_FEED["PAST_DAYS"])
    meetings = list(
        announced_meetings()
        .filter(conversation_id__in=member_of, starts_at__gte=since)
        .select_related("conversation")
        .order_by("starts_at", "id")
    )
    conversations = {
        c.pk: c
        for c in [r.message.conversation for r in reminders]
        + [s.conversation for s in scheduled]
        + [m.conversation for m in meetings]
    }
    return FeedItems(
        reminders,
        scheduled,
        meetings,
        messaging_selectors.conversation_names(user, list(conversations.values())),
    )


def meeting_for(user: User, meeting_id: UUID | str) -> Meeting:
    """A meeting of a conversation the person may read; ``not_found`` as for
    a missing one otherwise."""
    meeting = announced_meetings().select_related("conversation").filter(pk=meeting_id).first()
    if meeting is None:
        raise NotFound(_("No such meeting."))
    with audit.denials_recorded(
        actor=user, attempted="meeting.ics", conversation_id=meeting.conversation_id
    ):
        policy.check_read(user, meeting.conversation, missing=_("No such meeting."))
    return meeting
