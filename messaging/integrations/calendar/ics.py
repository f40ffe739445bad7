"""RFC 5545 text of a person's calendar, built with ``icalendar``.

Every item is a VEVENT with a UID stable for the row's life
(``<kind>-<id>@<site host>``), a DTSTAMP (when the row last changed), times
in UTC, and a URL back to Parley. A pending reminder carries a VALARM at
its start. Nothing of a message's text is put in the feed: a calendar
program that subscribes to it keeps a copy somewhere else. A reminder shows
the person's own note, a scheduled message and a meeting their
conversation's name.
"""

import datetime as dt
from urllib.parse import urlsplit

from django.conf import settings
from django.utils.translation import gettext as _
from icalendar import Alarm, Calendar, Event, vDuration

from messaging.integrations.calendar.selectors import FeedItems
from messaging.integrations.models import Meeting, Reminder, ScheduledMessage

PRODID = "-//Parley//Reminders and meetings//EN"
REMINDER_MINUTES = 15
SCHEDULED_MINUTES = 5
SUMMARY_CHARS = 80


def _host() -> str:
    return urlsplit(settings.PARLEY_SITE_URL).hostname or "parley.invalid"


def uid(kind: str, pk) -> str:
    return f"{kind}-{pk}@{_host()}"


def _utc(value: dt.datetime) -> dt.datetime:
    return value.astimezone(dt.UTC)


def _short(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= SUMMARY_CHARS else text[: SUMMARY_CHARS - 1] + "…"


def _calendar(name: str) -> Calendar:
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    calendar.add("x-wr-calname", name)
    refresh = dt.timedelta(minutes=settings.CALENDAR_FEED["REFRESH_MINUTES"])
    calendar.add("refresh-interval", refresh, parameters={"VALUE": "DURATION"})
    calendar.add("x-published-ttl", vDuration(refresh))
    return calendar


def _event(
    *,
    kind: str,
    pk,
    stamp: dt.datetime,
    start: dt.datetime,
    end: dt.datetime,
    summary: str,
    description: str,
    url: str,
) -> Event:
    event = Event()
    event.add("uid", uid(kind, pk))
    event.add("dtstamp", _utc(stamp))
    event.add("dtstart", _utc(start))
    event.add("dtend", _utc(end))
    event.add("summary", summary)
    event.add("description", description)
    event.add("url", url)
    event.add("transp", "TRANSPARENT" if kind != "meeting" else "OPAQUE")
    return event


def reminder_event(reminder: Reminder, *, conversation_name: str) -> Event:
    message = reminder.message
    url = f"{settings.PARLEY_SITE_URL}/c/{message.conversation_id}/#seq-{message.seq}"
    what = reminder.note or _("a message in %(conversation)s") % {"conversation": conversation_name}
    summary = _("Reminder: %(what)s") % {"what": _short(what)}
    lines = [reminder.note] if reminder.note else []
    lines.append(_("Open the message: %(url)s") % {"url": url})
    event = _event(
        kind="reminder",
        pk=reminder.pk,
        stamp=reminder.updated_at,
        start=reminder.remind_at,
        end=reminder.remind_at + dt.timedelta(minutes=REMINDER_MINUTES),
        summary=summary,
        description="\n".join(lines),
        url=url,
    )
    alarm = Alarm()
    alarm.add("action", "DISPLAY")
    alarm.add("description", summary)
    alarm.add("trigger", dt.timedelta(0))
    event.add_component(alarm)
    return event


def scheduled_event(scheduled: ScheduledMessage, *, conversation_name: str) -> Event:
    url = f"{settings.PARLEY_SITE_URL}/c/{scheduled.conversation_id}/"
    summary = _("Scheduled message to %(conversation)s") % {"conversation": conversation_name}
    return _event(
        kind="scheduled",
        pk=scheduled.pk,
        stamp=scheduled.updated_at,
        start=scheduled.send_at,
        end=scheduled.send_at + dt.timedelta(minutes=SCHEDULED_MINUTES),
        summary=summary,
        description=_("Parley sends your message then. %(url)s") % {"url": url},
        url=url,
    )


def meeting_event(meeting: Meeting, *, conversation_name: str) -> Event:
    url = f"{settings.PARLEY_SITE_URL}/c/{meeting.conversation_id}/"
    summary = meeting.title or _("Meeting in %(conversation)s") % {
        "conversation": conversation_name
    }
    return _event(
        kind="meeting",
        pk=meeting.pk,
        stamp=meeting.created_at,
        start=meeting.starts_at,
        end=meeting.starts_at + dt.timedelta(minutes=meeting.duration_minutes),
        summary=summary,
        description=_("Join from the conversation in Parley: %(url)s") % {"url": url},
        url=url,
    )


def feed_calendar(items: FeedItems) -> bytes:
    """The whole feed of one person."""
    calendar = _calendar(_("Parley"))
    for reminder in items.reminders:
        name = items.names.get(reminder.message.conversation_id, "")
        calendar.add_component(reminder_event(reminder, conversation_name=name))
    for scheduled in items.scheduled:
        name = items.names.get(scheduled.conversation_id, "")
        calendar.add_component(scheduled_event(scheduled, conversation_name=name))
    for meeting in items.meetings:
        name = items.names.get(meeting.conversation_id, "")
        calendar.add_component(meeting_event(meeting, conversation_name=name))
    return calendar.to_ical()


def single(event: Event) -> bytes:
    """One event as a calendar of its own (a downloaded .ics file)."""
    calendar = _calendar(_("Parley"))
    calendar.add_component(event)
    return calendar.to_ical()
