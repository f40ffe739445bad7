"""Setting, snoozing, cancelling and firing reminders (services, in-process
tasks, the test database)."""

import datetime as dt

import pytest
from django.core import mail
from django.utils import timezone

from messaging import services as messaging_services
from messaging.errors import InvalidInput, MessageHidden, NotFound
from messaging.integrations.models import Reminder, ReminderState
from messaging.integrations.reminders import services
from messaging.models import AuditAction, AuditLog
from notifications.models import Channel, ConversationMute, Kind, Notification
from notifications.services import preferences as preference_services

pytestmark = pytest.mark.django_db


def soon(minutes=30):
    return timezone.now() + dt.timedelta(minutes=minutes)


def reminder_notifications(user):
    return list(Notification.objects.filter(user=user, kind=Kind.REMINDER).order_by("created_at"))


# --- Setting ----------------------------------------------------------------------


def test_a_reminder_on_a_message_one_can_read(student, message):
    reminder = services.create_reminder(
        user=student, message_id=message.pk, remind_at=soon(), note="  before class  "
    )
    assert reminder.state == ReminderState.PENDING
    assert reminder.note == "before class"
    row = AuditLog.objects.get(action=AuditAction.REMINDER_CREATE)
    assert row.actor == student
    assert row.message_id == message.pk
    assert row.details["reminder_id"] == str(reminder.pk)


def test_a_preset_is_computed_in_the_persons_zone(student, message):
    student.time_zone = "Asia/Tokyo"
    student.save(update_fields=["time_zone"])
    reminder = services.create_reminder(user=student, message_id=message.pk, preset="tomorrow_9")
    local = reminder.remind_at.astimezone(dt.timezone(dt.timedelta(hours=9)))
    assert (local.hour, local.minute) == (9, 0)
    assert local.date() > timezone.now().astimezone(local.tzinfo).date()


def test_someone_elses_message_is_no_such_message(outsider, message):
    with pytest.raises(NotFound) as refused:
        services.create_reminder(user=outsider, message_id=message.pk, remind_at=soon())
    assert refused.value.message == "No such message."
    assert not Reminder.objects.exists()
    assert AuditLog.objects.filter(
        actor=outsider, action=AuditAction.ACCESS_DENIED, details__attempted="reminder.create"
    ).exists()


def test_a_deleted_or_hidden_message_takes_no_reminder(student, mentor, message, admin_user):
    messaging_services.delete_message(actor=mentor, message_id=message.pk)
    with pytest.raises(NotFound):
        services.create_reminder(user=student, message_id=message.pk, remind_at=soon())


@pytest.mark.parametrize(
    ("fields", "words"),
    [
        ({}, "either remind_at or preset"),
        ({"preset": "in_1_hour", "remind_at": "later"}, "either remind_at or preset"),
        ({"preset": "someday"}, "Unknown preset"),
        ({"remind_at": "past"}, "in the future"),
        ({"remind_at": "naive"}, "time zone"),
        ({"remind_at": "far"}, "days ahead"),
    ],
)
def test_bad_times_are_refused(student, message, fields, words):
    now = timezone.now()
    values = {
        "later": now + dt.timedelta(hours=1),
        "past": now - dt.timedelta(seconds=1),
        "naive": (now + dt.timedelta(hours=1)).replace(tzinfo=None),
        "far": now + dt.timedelta(days=400),
    }
    if "remind_at" in fields:
        fields = {**fields, "remind_at": values[fields["remind_at"]]}
    with pytest.raises(InvalidInput) as refused:
        services.create_reminder(user=student, message_id=message.pk, **fields)
    assert words in refused.value.message


def test_a_note_too_long_is_refused(student, message):
    with pytest.raises(InvalidInput):
        services.create_reminder(
            user=student, message_id=message.pk, remind_at=soon(), note="x" * 501
        )


# --- Snooze and cancel -------------------------------------------------------------


def test_snooze_moves_the_time_and_makes_it_pending_again(student, message):
    reminder = services.create_reminder(user=student, message_id=message.pk, remind_at=soon())
    assert services.fire_reminder(reminder_id=reminder.pk)
    later = soon(90)
    snoozed = services.snooze_reminder(user=student, reminder_id=reminder.pk, remind_at=later)
    assert snoozed.state == ReminderState.PENDING
    assert snoozed.fired_at is None
    assert snoozed.remind_at == later
    assert AuditLog.objects.filter(action=AuditAction.REMINDER_SNOOZE).count() == 1
    noted = services.snooze_reminder(user=student, reminder_id=reminder.pk, note="bring the book")
    assert (noted.note, noted.remind_at) == ("bring the book", later)


def test_only_ones_own_reminder_can_be_snoozed_or_cancelled(student, outsider, message):
    reminder = services.create_reminder(user=student, message_id=message.pk, remind_at=soon())
    with pytest.raises(NotFound):
        services.snooze_reminder(user=outsider, reminder_id=reminder.pk, preset="in_1_hour")
    with pytest.raises(NotFound):
        services.cancel_reminder(user=outsider, reminder_id=reminder.pk)
    reminder.refresh_from_db()
    assert reminder.state == ReminderState.PENDING


def test_a_cancelled_reminder_never_fires(student, message):
    reminder = services.create_reminder(user=student, message_id=message.pk, remind_at=soon())
    assert services.cancel_reminder(user=student, reminder_id=reminder.pk) is True
    assert services.cancel_reminder(user=student, reminder_id=reminder.pk) is False
    assert AuditLog.objects.filter(action=AuditAction.REMINDER_CANCEL).count() == 1
    assert services.fire_due_reminders(now=soon(60)) == 0
    with pytest.raises(NotFound):
        services.snooze_reminder(user=student, reminder_id=reminder.pk, preset="in_1_hour")
    assert reminder_notifications(student) == []


# --- Firing -----------------------------------------------------------------------


def test_the_sweep_fires_what_is_due_once(student, message, django_capture_on_commit_callbacks):
    due = services.create_reminder(
        user=student, message_id=message.pk, remind_at=soon(10), note="read it"
    )
    not_yet = services.create_reminder(user=student, message_id=message.pk, remind_at=soon(60))
    with django_capture_on_commit_callbacks(execute=True):
        assert services.fire_due_reminders(now=soon(11)) == 1
    assert services.fire_due_reminders(now=soon(11)) == 0  # a second run: nothing
    due.refresh_from_db()
    not_yet.refresh_from_db()
    assert due.state == ReminderState.FIRED and due.fired_at is not None
    assert not_yet.state == ReminderState.PENDING
    [notification] = reminder_notifications(student)
    assert notification.message_id is None
    assert notification.conversation_id == message.conversation_id
    assert notification.in_app
    assert notification.data["reminder_id"] == str(due.pk)
    assert notification.data["message_id"] == str(message.pk)
    assert notification.data["excerpt"] == "Please read chapter 4 before Friday"
    assert notification.data["note"] == "read it"
    # Named as the student's inbox names it: after the other person.
    assert notification.data["conversation_title"] == message.sender.display_name
    # Email is on for reminders by default: one email of its own.
    [email] = mail.outbox
    assert email.to == [student.email]
    assert email.subject == "Reminder: Please read chapter 4 before Friday"
    body = email.body
    assert "Your note: read it" in body
    assert f"In your conversation with {message.sender.display_name}:" in body
    html = email.alternatives[0][0]
    assert f"In your conversation with {message.sender.display_name}<" in html
    assert f"/c/{message.conversation_id}/#seq-{message.seq}" in body


def test_a_snoozed_reminder_fires_again_with_a_new_notification(
    student, message, django_capture_on_commit_callbacks
):
    reminder = services.create_reminder(user=student, message_id=message.pk, remind_at=soon(10))
    with django_capture_on_commit_callbacks(execute=True):
        assert services.fire_due_reminders(now=soon(11)) == 1
    services.snooze_reminder(user=student, reminder_id=reminder.pk, remind_at=soon(20))
    with django_capture_on_commit_callbacks(execute=True):
        assert services.fire_due_reminders(now=soon(21)) == 1
        assert services.fire_due_reminders(now=soon(21)) == 0
    first, second = reminder_notifications(student)
    assert first.pk != second.pk
    assert first.data["reminder_id"] == second.data["reminder_id"] == str(reminder.pk)
    assert len(mail.outbox) == 2


def test_a_reminder_fires_in_a_muted_conversation(student, message):
    ConversationMute.objects.create(user=student, conversation=message.conversation)
    services.create_reminder(user=student, message_id=message.pk, remind_at=soon(10))
    assert services.fire_due_reminders(now=soon(11)) == 1
    assert len(reminder_notifications(student)) == 1


def test_channels_follow_the_persons_preferences(
    student, message, django_capture_on_commit_callbacks
):
    preference_services.update_preferences(
        user=student,
        kinds={Kind.REMINDER.value: {Channel.IN_APP.value: True, Channel.EMAIL.value: False}},
    )
    services.create_reminder(user=student, message_id=message.pk, remind_at=soon(10))
    with django_capture_on_commit_callbacks(execute=True):
        services.fire_due_reminders(now=soon(11))
    assert len(reminder_notifications(student)) == 1
    assert mail.outbox == []


def test_a_reminder_on_a_message_deleted_since_fires_without_it(
    student, mentor, message, django_capture_on_commit_callbacks
):
    services.create_reminder(user=student, message_id=message.pk, remind_at=soon(10), note="n")
    messaging_services.delete_message(actor=mentor, message_id=message.pk)
    with django_capture_on_commit_callbacks(execute=True):
        assert services.fire_due_reminders(now=soon(11)) == 1
    [notification] = reminder_notifications(student)
    assert notification.data["unavailable"] is True
    assert "excerpt" not in notification.data and "message_id" not in notification.data
    assert notification.conversation_id is None
    assert "chapter 4" not in mail.outbox[0].body
    assert "no longer available" in mail.outbox[0].body


def test_a_person_who_left_gets_the_reminder_without_the_message(
    student, mentor, assigned, send, django_capture_on_commit_callbacks
):
    group = messaging_services.create_conversation(
        creator=mentor, kind="group", participants=[student], title="Study group"
    )
    message = send(mentor, group, "Secret plans")
    services.create_reminder(user=student, message_id=message.pk, remind_at=soon(10))
    messaging_services.remove_participant(actor=mentor, conversation_id=group.pk, user=student)
    services.fire_due_reminders(now=soon(11))
    [notification] = reminder_notifications(student)
    assert notification.data.get("unavailable") is True
    assert "Secret" not in str(notification.data)


def test_deleting_the_message_takes_its_fired_reminders_out_of_the_feed(student, mentor, message):
    services.create_reminder(user=student, message_id=message.pk, remind_at=soon(10))
    services.fire_due_reminders(now=soon(11))
    assert len(reminder_notifications(student)) == 1
    messaging_services.delete_message(actor=mentor, message_id=message.pk)
    assert reminder_notifications(student) == []


def test_a_hidden_message_takes_no_reminder(student, message, admin_user):
    from messaging.moderation.services import actions

    actions.hide_message(moderator=admin_user, message_id=message.pk, note="spam")
    with pytest.raises(MessageHidden):
        services.create_reminder(user=student, message_id=message.pk, remind_at=soon())


def test_beat_runs_the_sweep_every_few_seconds():
    from io import StringIO

    from django.core.management import call_command
    from django_celery_beat.models import IntervalSchedule, PeriodicTask

    from config.celery import app

    call_command("setup_periodic_tasks", stdout=StringIO())
    task = PeriodicTask.objects.get(task="messaging.integrations.reminders.tasks.sweep_reminders")
    assert task.enabled
    assert (task.interval.every, task.interval.period) == (5, IntervalSchedule.SECONDS)
    app.loader.import_default_modules()  # what a worker loads: messaging.tasks
    assert task.task in app.tasks
