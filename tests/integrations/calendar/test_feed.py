"""The calendar feed and single-event .ics files, parsed back with
icalendar: exactly the person's items, stable UIDs, UTC times, and a token
that only works while it is current."""

import datetime as dt
import uuid

import pytest
from django.test import Client
from django.utils import timezone
from icalendar import Calendar

from accounts import services as account_services
from messaging import services as messaging_services
from messaging.integrations.models import (
    CalendarFeed,
    Meeting,
    ScheduledMessage,
    ScheduledState,
)
from messaging.integrations.reminders import services as reminders
from messaging.models import AuditAction, AuditLog

pytestmark = pytest.mark.django_db

SITE = "https://parley.example.edu"


@pytest.fixture(autouse=True)
def _site(settings):
    settings.PARLEY_SITE_URL = SITE


def later(hours: float) -> dt.datetime:
    return timezone.now() + dt.timedelta(hours=hours)


def feed_path(client) -> str:
    url = client.get("/api/calendar/feed/").json()["url"]
    assert url.startswith(f"{SITE}/calendar/") and url.endswith(".ics")
    return url.removeprefix(SITE)


def events(body: bytes) -> dict[str, object]:
    calendar = Calendar.from_ical(body)
    return {str(e["UID"]): e for e in calendar.walk("VEVENT")}


@pytest.fixture
def world(student, mentor, outsider, assigned, direct, message, send):
    """The student's reminders, scheduled messages and meetings, among
    other people's and other states'."""
    mine = reminders.create_reminder(
        user=student, message_id=message.pk, remind_at=later(2), note="Bring the book"
    )
    cancelled = reminders.create_reminder(user=student, message_id=message.pk, remind_at=later(3))
    reminders.cancel_reminder(user=student, reminder_id=cancelled.pk)
    fired = reminders.create_reminder(user=student, message_id=message.pk, remind_at=later(4))
    reminders.fire_reminder(reminder_id=fired.pk)
    mentors = reminders.create_reminder(user=mentor, message_id=message.pk, remind_at=later(2))
    scheduled = ScheduledMessage.objects.create(
        author=student, conversation=direct, content="Secret draft", send_at=later(5)
    )
    ScheduledMessage.objects.create(
        author=student,
        conversation=direct,
        content="Already sent",
        send_at=later(1),
        state=ScheduledState.SENT,
    )
    ScheduledMessage.objects.create(
        author=mentor, conversation=direct, content="Mentor's draft", send_at=later(5)
    )
    meeting = Meeting.objects.create(
        conversation=direct,
        provider="jitsi",
        room=f"room-{uuid.uuid4().hex}",
        title="Office hours",
        starts_at=later(24),
        duration_minutes=45,
    )
    elsewhere = messaging_services.create_conversation(
        creator=mentor, kind="group", participants=[], title="Mentors only"
    )
    hidden_meeting = Meeting.objects.create(
        conversation=elsewhere,
        provider="jitsi",
        room=f"room-{uuid.uuid4().hex}",
        title="Not for students",
        starts_at=later(24),
    )
    return {
        "mine": mine,
        "cancelled": cancelled,
        "fired": fired,
        "mentors": mentors,
        "scheduled": scheduled,
        "meeting": meeting,
        "hidden_meeting": hidden_meeting,
    }


def test_the_feed_holds_exactly_the_persons_items(api, student, world, message):
    path = feed_path(api(student))
    response = Client().get(path)  # no login: the token is the key
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/calendar")
    found = events(response.content)
    assert set(found) == {
        f"reminder-{world['mine'].pk}@parley.example.edu",
        f"scheduled-{world['scheduled'].pk}@parley.example.edu",
        f"meeting-{world['meeting'].pk}@parley.example.edu",
    }
    reminder = found[f"reminder-{world['mine'].pk}@parley.example.edu"]
    assert str(reminder["SUMMARY"]) == "Reminder: Bring the book"
    start = reminder.decoded("DTSTART")
    assert start.utcoffset() == dt.timedelta(0)
    assert start == world["mine"].remind_at.replace(microsecond=0)
    assert str(reminder["URL"]) == f"{SITE}/c/{message.conversation_id}/#seq-{message.seq}"
    assert reminder.decoded("DTSTAMP").utcoffset() == dt.timedelta(0)
    [alarm] = reminder.walk("VALARM")
    assert str(alarm["ACTION"]) == "DISPLAY"

    meeting = found[f"meeting-{world['meeting'].pk}@parley.example.edu"]
    assert str(meeting["SUMMARY"]) == "Office hours"
    assert meeting.decoded("DTEND") - meeting.decoded("DTSTART") == dt.timedelta(minutes=45)
    # Nothing of anyone's message text travels to a calendar program.
    text = response.content.decode()
    assert "Secret draft" not in text and "chapter 4" not in text
    assert "Not for students" not in text and "Mentor's draft" not in text


def test_uids_are_stable_and_the_feed_follows_changes(api, student, world):
    client = api(student)
    path = feed_path(client)
    first = events(Client().get(path).content)
    reminders.snooze_reminder(user=student, reminder_id=world["mine"].pk, remind_at=later(6))
    second = events(Client().get(path).content)
    assert set(first) == set(second)
    uid = f"reminder-{world['mine'].pk}@parley.example.edu"
    assert second[uid].decoded("DTSTART") != first[uid].decoded("DTSTART")
    reminders.cancel_reminder(user=student, reminder_id=world["mine"].pk)
    assert uid not in events(Client().get(path).content)


def test_rotating_the_token_retires_the_old_url(api, student, world):
    client = api(student)
    old = feed_path(client)
    assert feed_path(client) == old  # asking again does not rotate
    rotated = client.post("/api/calendar/feed/rotate/")
    assert rotated.status_code == 200
    new = rotated.json()["url"].removeprefix(SITE)
    assert new != old
    assert Client().get(old).status_code == 404
    assert Client().get(new).status_code == 200
    assert AuditLog.objects.filter(actor=student, action=AuditAction.CALENDAR_FEED_ROTATE).exists()
    assert len(CalendarFeed.objects.get(user=student).token) == 43


@pytest.mark.parametrize(
    "token",
    ["unknown-token-unknown-token-unknown-token-x", "short", "a" * 65, "bad%20chars" * 3],
)
def test_bad_tokens_are_a_bare_404(token, db):
    response = Client().get(f"/calendar/{token}.ics")
    assert response.status_code == 404
    assert b"BEGIN:VCALENDAR" not in response.content


def test_a_deactivated_persons_feed_is_gone(api, student, world):
    path = feed_path(api(student))
    student.is_active = False
    student.save(update_fields=["is_active"])
    assert Client().get(path).status_code == 404


def test_one_reminder_as_a_file(api, student, outsider, world):
    response = api(student).get(f"/api/reminders/{world['mine'].pk}/ics")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/calendar")
    assert "attachment" in response["Content-Disposition"]
    assert list(events(response.content)) == [f"reminder-{world['mine'].pk}@parley.example.edu"]
    cancelled = api(student).get(f"/api/reminders/{world['cancelled'].pk}/ics")
    assert cancelled.status_code == 404


def test_a_meeting_as_a_file_for_members_only(api, student, outsider, world):
    meeting = world["meeting"]
    response = api(student).get(f"/api/meetings/{meeting.pk}/ics")
    assert response.status_code == 200
    [event] = events(response.content).values()
    assert event.decoded("DTSTART") == meeting.starts_at.replace(microsecond=0)
    refused = api(outsider).get(f"/api/meetings/{meeting.pk}/ics")
    missing = api(outsider).get(f"/api/meetings/{uuid.uuid4()}/ics")
    assert refused.status_code == missing.status_code == 404
    assert refused.json() == missing.json()
    other = api(student).get(f"/api/meetings/{world['hidden_meeting'].pk}/ics")
    assert other.status_code == 404


def test_a_password_change_retires_the_feeds_url(api, student, world):
    """The feed's URL is a credential like an API token: a password change
    (which ends the person's other sessions and tokens) ends it too. The
    Calendar page then shows the new URL."""
    path = feed_path(api(student))
    assert Client().get(path).status_code == 200
    account_services.change_password(
        user=student, password="a-New-passphrase-2468", actor=student, via="profile"
    )
    assert Client().get(path).status_code == 404
    client = api(student)  # a new token: the old one ended with the password
    new = feed_path(client)
    assert new != path
    assert Client().get(new).status_code == 200
    details = AuditLog.objects.get(action=AuditAction.PASSWORD_CHANGED).details
    assert details["calendar_feed_ended"] is True


def test_a_password_change_makes_no_feed_for_someone_without_one(student, db):
    account_services.change_password(user=student, password=None, actor=None, via="command")
    assert not CalendarFeed.objects.filter(user=student).exists()
    details = AuditLog.objects.get(action=AuditAction.PASSWORD_CHANGED).details
    assert details["calendar_feed_ended"] is False


def test_a_reminder_of_a_conversation_one_has_left_does_not_name_it(api, student, mentor, assigned):
    """Its .ics file says only that it was a conversation they left: what
    the group is called now is not theirs to read."""
    group = messaging_services.create_conversation(
        creator=mentor, kind="group", participants=[student], title="Study group"
    )
    message = messaging_services.send_message(
        sender=mentor, conversation_id=group.pk, content="Bring the book", client_id=uuid.uuid4()
    ).message
    reminder = reminders.create_reminder(user=student, message_id=message.pk, remind_at=later(2))
    messaging_services.remove_participant(actor=mentor, conversation_id=group.pk, user=student)
    messaging_services.rename_conversation(
        actor=mentor, conversation_id=group.pk, title="Plan to expel Student"
    )
    body = api(student).get(f"/api/reminders/{reminder.pk}/ics").content.decode()
    assert "expel" not in body
    assert "A conversation you left" in body
