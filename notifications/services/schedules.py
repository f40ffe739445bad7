"""Parley's periodic tasks in django-celery-beat's tables, where the admin
edits them. Created once; an entry someone changed in the admin (interval,
enabled) is left as they set it."""

from django.db import transaction
from django_celery_beat.models import IntervalSchedule, PeriodicTask

DIGEST_TASK_NAME = "notifications: send due digests"
DIGEST_EVERY_MINUTES = 15
PURGE_FILES_TASK_NAME = "files: purge expired uploads and deleted messages' files"
PURGE_FILES_EVERY_HOURS = 1
SWEEP_PREVIEWS_TASK_NAME = "files: retry or give up previews stuck pending"
SWEEP_PREVIEWS_EVERY_MINUTES = 10


@transaction.atomic
def ensure_periodic_tasks() -> list[str]:
    """Create the periodic tasks that are missing; returns their names.
    Running it again changes nothing."""
    created = []
    every, _ = IntervalSchedule.objects.get_or_create(
        every=DIGEST_EVERY_MINUTES, period=IntervalSchedule.MINUTES
    )
    _, made = PeriodicTask.objects.get_or_create(
        name=DIGEST_TASK_NAME,
        defaults={
            "task": "notifications.tasks.send_due_digests",
            "interval": every,
            "description": (
                "Daily and weekly email digests. Every 15 minutes: each person's digest "
                "goes out at their local hour, once (delivery records)."
            ),
        },
    )
    if made:
        created.append(DIGEST_TASK_NAME)
    hourly, _ = IntervalSchedule.objects.get_or_create(
        every=PURGE_FILES_EVERY_HOURS, period=IntervalSchedule.HOURS
    )
    _, made = PeriodicTask.objects.get_or_create(
        name=PURGE_FILES_TASK_NAME,
        defaults={
            "task": "messaging.files.tasks.purge_files",
            "interval": hourly,
            "description": (
                "Hourly: removes uploads never sent (after UNSENT_UPLOAD_HOURS) and the "
                "files of messages deleted more than DELETED_FILE_RETENTION_DAYS ago."
            ),
        },
    )
    if made:
        created.append(PURGE_FILES_TASK_NAME)
    every_ten, _ = IntervalSchedule.objects.get_or_create(
        every=SWEEP_PREVIEWS_EVERY_MINUTES, period=IntervalSchedule.MINUTES
    )
    _, made = PeriodicTask.objects.get_or_create(
        name=SWEEP_PREVIEWS_TASK_NAME,
        defaults={
            "task": "messaging.files.tasks.sweep_previews",
            "interval": every_ten,
            "description": (
                "Every 10 minutes: previews still pending after twice their timeout are "
                "queued again (the broker was down, the worker died); after an hour they fail."
            ),
        },
    )
    if made:
        created.append(SWEEP_PREVIEWS_TASK_NAME)
    return created
