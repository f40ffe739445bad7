"""Beat's schedule: Parley's periodic tasks in django-celery-beat's tables,
each once, and an admin's edit of one kept when beat starts again."""

import importlib
from collections import Counter
from io import StringIO

import pytest
from django.apps import apps
from django.core.management import call_command
from django_celery_beat.models import IntervalSchedule, PeriodicTask
from django_celery_beat.schedulers import DatabaseScheduler

from config.celery import app
from notifications.services.schedules import PERIODIC_TASKS

# The scheduler closes the connection of a transaction it did not open:
# not inside a test's own transaction.
pytestmark = pytest.mark.django_db(transaction=True)

retired = importlib.import_module("notifications.migrations.0007_retire_settings_beat_entries")


def start_beat_scheduler() -> DatabaseScheduler:
    """What beat does first when it starts: the scheduler writes the
    settings' entries (and its own defaults) into the tables."""
    return DatabaseScheduler(app=app, lazy=False)


def parleys_tasks() -> Counter:
    return Counter(
        PeriodicTask.objects.filter(task__in={p.task for p in PERIODIC_TASKS}).values_list(
            "task", flat=True
        )
    )


def test_each_task_is_scheduled_once_after_beat_starts():
    call_command("setup_periodic_tasks", stdout=StringIO())
    start_beat_scheduler()
    counts = parleys_tasks()
    assert set(counts) == {p.task for p in PERIODIC_TASKS}
    assert set(counts.values()) == {1}, counts
    # The presence sweep among them, every 30 seconds.
    presence = PeriodicTask.objects.get(task="messaging.tasks.sweep_presence")
    assert (presence.interval.every, presence.interval.period) == (30, "seconds")


def test_an_admins_edit_survives_beat_starting_again():
    call_command("setup_periodic_tasks", stdout=StringIO())
    task = PeriodicTask.objects.get(task="notifications.tasks.notify_pending")
    task.interval, _ = IntervalSchedule.objects.get_or_create(every=5, period="minutes")
    task.enabled = False
    task.save()
    start_beat_scheduler()
    call_command("setup_periodic_tasks", stdout=StringIO())
    task.refresh_from_db()
    assert (task.interval.every, task.interval.period, task.enabled) == (5, "minutes", False)
    assert parleys_tasks()["notifications.tasks.notify_pending"] == 1


def test_the_migration_removes_the_copies_the_settings_made():
    """A database beat ran in before keeps the settings' copies until the
    migration removes them; an entry of the same name for another task (an
    operator's own) stays."""
    minute, _ = IntervalSchedule.objects.get_or_create(every=1, period="minutes")
    for name, task in retired.RETIRED.items():
        PeriodicTask.objects.create(name=name, task=task, interval=minute)
    PeriodicTask.objects.filter(name="purge-files").update(task="someone.elses.task")
    retired.retire(apps, None)
    assert set(PeriodicTask.objects.values_list("name", flat=True)) == {"purge-files"}
