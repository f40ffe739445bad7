"""On the embedded default a frame published by the Celery worker reaches
no socket (the in-memory channel layer is the server process's own), so
the server process sends due scheduled messages and fires due reminders
itself while it serves sockets, and the worker's beat leaves it the first
``LIVE_SWEEP_GRACE`` (messaging.integrations.sweeps). Here the real
consumer stack runs the live sweep, as ``make run``'s server does."""

import uuid
from datetime import timedelta

import pytest
from asgiref.sync import sync_to_async
from django.utils import timezone

from messaging import services as messaging_services
from messaging.integrations import sweeps
from messaging.integrations.models import Reminder, ScheduledMessage, ScheduledState
from messaging.integrations.reminders import services as reminders
from messaging.integrations.reminders.tasks import sweep_reminders
from messaging.integrations.scheduling import services as scheduling
from messaging.integrations.scheduling.tasks import send_due_scheduled_messages
from messaging.models import Message
from tests.realtime.conftest import _fresh_presence, open_socket  # noqa: F401

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]
orm = sync_to_async


@pytest.fixture
def live_in_process(settings):
    settings.PARLEY_LIVE_TASKS_IN_PROCESS = True


def _schedule_due(author, conversation, content: str, *, ago: timedelta) -> ScheduledMessage:
    scheduled = scheduling.schedule_message(
        author=author,
        conversation_id=conversation.pk,
        content=content,
        send_at=timezone.now() + timedelta(minutes=5),
        time_zone="UTC",
    )
    ScheduledMessage.objects.filter(pk=scheduled.pk).update(send_at=timezone.now() - ago)
    return scheduled


async def test_the_server_process_sends_due_messages_and_fires_reminders_live(
    live_in_process,
    open_socket,  # noqa: F811
    direct,
    assigned,
):
    mentor, student = assigned
    socket = await open_socket(student)
    await orm(_schedule_due)(mentor, direct, "Good morning!", ago=timedelta(seconds=1))
    frame = await socket.recv_type("message.new", timeout=20, also_skip=("notification.new",))
    assert frame["message"]["content"] == "Good morning!"

    sent = await orm(Message.objects.get)(content="Good morning!")
    remind_at = timezone.now() + timedelta(minutes=5)
    reminder = await orm(reminders.create_reminder)(
        user=student, message_id=sent.pk, remind_at=remind_at, note="answer Maria"
    )
    await orm(Reminder.objects.filter(pk=reminder.pk).update)(remind_at=timezone.now())
    # The bell may ring for the message itself first (a direct message).
    rung = await socket.recv_type("notification.new", timeout=20, also_skip=("message.new",))
    while rung["notification"]["kind"] == "direct":
        rung = await socket.recv_type("notification.new", timeout=20, also_skip=("message.new",))
    assert rung["notification"]["kind"] == "reminder"
    assert rung["notification"]["data"]["reminder_id"] == str(reminder.pk)
    await socket.close()


@pytest.mark.django_db(transaction=False)
def test_the_workers_beat_leaves_the_first_seconds_to_the_server_process(
    live_in_process, direct, assigned
):
    mentor, student = assigned
    fresh = _schedule_due(mentor, direct, "just due", ago=timedelta(seconds=5))
    stale = _schedule_due(mentor, direct, "long due", ago=sweeps.LIVE_SWEEP_GRACE * 2)
    assert send_due_scheduled_messages() == 1
    fresh.refresh_from_db()
    stale.refresh_from_db()
    assert fresh.state == ScheduledState.SCHEDULED
    assert stale.state == ScheduledState.SENT

    message = messaging_services.send_message(
        sender=mentor, conversation_id=direct.pk, content="Read me", client_id=uuid.uuid4()
    ).message
    reminder = reminders.create_reminder(
        user=student, message_id=message.pk, remind_at=timezone.now() + timedelta(minutes=5)
    )
    Reminder.objects.filter(pk=reminder.pk).update(remind_at=timezone.now())
    assert sweep_reminders() == 0
    Reminder.objects.filter(pk=reminder.pk).update(
        remind_at=timezone.now() - sweeps.LIVE_SWEEP_GRACE * 2
    )
    assert sweep_reminders() == 1
