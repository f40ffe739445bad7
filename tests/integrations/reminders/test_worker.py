"""A real Celery worker process fires a due reminder, and the reminder's
email reaches a real SMTP server process."""

import datetime as dt

import pytest
from django.utils import timezone

from messaging.integrations.models import Reminder, ReminderState
from messaging.integrations.reminders import services
from messaging.integrations.reminders.tasks import sweep_reminders
from notifications.models import Kind, Notification
from tests.notifications.mailserver import MailServer
from tests.notifications.test_celery_worker import Worker, wait_until

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]


def test_a_worker_fires_a_due_reminder_and_it_arrives_by_email(
    tmp_path, student, message, on_the_broker
):
    on_the_broker.control.purge()
    reminder = services.create_reminder(
        user=student,
        message_id=message.pk,
        remind_at=timezone.now() + dt.timedelta(minutes=1),
        note="Start the essay",
    )
    # Its time has come (as a minute later).
    Reminder.objects.filter(pk=reminder.pk).update(
        remind_at=timezone.now() - dt.timedelta(seconds=1)
    )
    smtp = MailServer(tmp_path / "mail")
    worker = Worker(tmp_path / "worker.log", {"EMAIL_URL": smtp.url})
    try:
        assert worker.wait_for("ready."), worker.text()
        sweep_reminders.delay()
        sweep_reminders.delay()  # a second run at once fires nothing more
        [received] = smtp.wait_for(1, timeout=60)
        wait_until(
            lambda: "sweep_reminders" in worker.text() and worker.text().count("succeeded") >= 3,
            "both sweeps and the email task finished",
            timeout=60,
        )
    finally:
        worker.stop()
        smtp.stop()
    assert received["To"] == student.email
    assert received["Subject"] == "Reminder: Please read chapter 4 before Friday"
    text = received.get_body(("plain",)).get_content()
    assert "Your note: Start the essay" in text
    assert f"/c/{message.conversation_id}/#seq-{message.seq}" in text
    assert len(smtp.messages()) == 1
    reminder.refresh_from_db()
    assert reminder.state == ReminderState.FIRED
    assert Notification.objects.filter(user=student, kind=Kind.REMINDER).count() == 1
