"""Two sweeps at once on PostgreSQL (threads, each with its own
connection): every due reminder fires once, with one notification."""

import datetime as dt
import threading

import pytest
from django.db import connections, transaction
from django.utils import timezone

from messaging.integrations.models import Reminder, ReminderState
from messaging.integrations.reminders import services
from notifications.models import Kind, Notification

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]

COUNT = 24


def _in_threads(*works):
    """Run each of ``works`` in its own thread, released together; their
    results in order. An exception in one is raised here."""
    barrier = threading.Barrier(len(works))
    results: list = [None] * len(works)
    errors: list = []

    def run(index, work):
        try:
            barrier.wait()
            results[index] = work()
        except Exception as error:  # noqa: BLE001 - handed to the test thread
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i, w)) for i, w in enumerate(works)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors
    return results


@pytest.fixture
def due(student, message):
    reminders = [
        services.create_reminder(
            user=student, message_id=message.pk, remind_at=timezone.now() + dt.timedelta(minutes=5)
        )
        for _ in range(COUNT)
    ]
    return student, reminders


def test_two_sweeps_at_once_fire_each_reminder_once(due, settings):
    student, reminders = due
    settings.REMINDERS = {**settings.REMINDERS, "SWEEP_BATCH": 5}
    later = timezone.now() + dt.timedelta(minutes=6)
    fired = _in_threads(
        lambda: services.fire_due_reminders(now=later),
        lambda: services.fire_due_reminders(now=later),
    )
    assert sum(fired) == COUNT
    assert not Reminder.objects.filter(state=ReminderState.PENDING).exists()
    told = list(
        Notification.objects.filter(user=student, kind=Kind.REMINDER).values_list(
            "data__reminder_id", flat=True
        )
    )
    assert sorted(told) == sorted(str(r.pk) for r in reminders)


def test_a_reminder_locked_by_one_sweep_is_skipped_by_the_other(due):
    student, reminders = due
    later = timezone.now() + dt.timedelta(minutes=6)
    held = reminders[0]
    locked = threading.Event()
    release = threading.Event()

    def hold():
        # A sweep inside its batch: it holds the row, not yet fired.
        with transaction.atomic():
            Reminder.objects.select_for_update().get(pk=held.pk)
            locked.set()
            release.wait(timeout=60)
        connections.close_all()

    holder = threading.Thread(target=hold)
    holder.start()
    try:
        assert locked.wait(timeout=30)
        [fired] = _in_threads(lambda: services.fire_due_reminders(now=later))
    finally:
        release.set()
        holder.join(timeout=60)
    # Everything but the held row, without waiting for its lock.
    assert fired == COUNT - 1
    held.refresh_from_db()
    assert held.state == ReminderState.PENDING
    assert services.fire_due_reminders(now=later) == 1
    assert Notification.objects.filter(user=student, kind=Kind.REMINDER).count() == COUNT


def test_the_same_reminder_fired_twice_at_once_notifies_once(due):
    student, reminders = due
    target = reminders[0]
    results = _in_threads(
        lambda: services.fire_reminder(reminder_id=target.pk),
        lambda: services.fire_reminder(reminder_id=target.pk),
    )
    assert sorted(results) == [False, True]
    assert (
        Notification.objects.filter(
            user=student, kind=Kind.REMINDER, data__reminder_id=str(target.pk)
        ).count()
        == 1
    )
