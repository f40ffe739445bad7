"""The demo content: what it makes, and that running it twice adds nothing."""

import datetime as dt

import pytest

from accounts.models import Role
from messaging.integrations.models import CalendarFeed, Reminder, ReminderState
from messaging.integrations.reminders.demo import seed_demo
from notifications.models import Kind, Notification

pytestmark = pytest.mark.django_db


def test_sam_gets_a_pending_and_a_fired_reminder_and_a_feed(make_user, direct, assigned, send):
    mentor, sam = assigned
    message = send(mentor, direct, "Your project plan looks good")
    send(sam, direct, "Thanks!")  # his own: not the one reminded of
    users = {"sam@parley.test": sam, "maria@parley.test": mentor}
    seed_demo(users)
    seed_demo(users)
    reminders = Reminder.objects.filter(user=sam)
    assert sorted(reminders.values_list("state", flat=True)) == [
        ReminderState.FIRED,
        ReminderState.PENDING,
    ]
    assert {r.message_id for r in reminders} == {message.pk}
    # The fired one fired at its time, not twenty minutes before it.
    fired = reminders.get(state=ReminderState.FIRED)
    assert abs(fired.remind_at - fired.fired_at) < dt.timedelta(minutes=1)
    [told] = Notification.objects.filter(user=sam, kind=Kind.REMINDER)
    assert told.in_app and told.data["message_id"] == str(message.pk)
    assert CalendarFeed.objects.filter(user=sam).count() == 1


def test_nothing_without_sam_or_a_message(make_user):
    seed_demo({})
    sam = make_user(Role.STUDENT)
    seed_demo({"sam@parley.test": sam})
    assert not Reminder.objects.exists()
