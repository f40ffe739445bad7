"""Parley's periodic tasks in django-celery-beat's tables, where the admin
edits them. Created once; an entry someone changed in the admin (interval,
enabled) is left as they set it."""

from dataclasses import dataclass

from django.db import transaction
from django_celery_beat.models import IntervalSchedule, PeriodicTask


@dataclass(frozen=True)
class Periodic:
    name: str
    task: str
    every: int
    period: str  # an IntervalSchedule period
    description: str


PERIODIC_TASKS = (
    Periodic(
        name="presence: mark offline who stopped beating",
        task="messaging.tasks.sweep_presence",
        every=30,
        period=IntervalSchedule.SECONDS,
        description=(
            "Every 30 seconds: people whose sockets all expired go offline for their "
            "contacts, when no server is running to sweep them itself."
        ),
    ),
    Periodic(
        name="notifications: tell what no nudge reached",
        task="notifications.tasks.notify_pending",
        every=1,
        period=IntervalSchedule.MINUTES,
        description=(
            "Every minute: conversations with messages past the fan-out's cursor (a "
            "web process stopped between a send and its nudge, a failed task) are told."
        ),
    ),
    Periodic(
        name="notifications: send due digests",
        task="notifications.tasks.send_due_digests",
        every=15,
        period=IntervalSchedule.MINUTES,
        description=(
            "Daily and weekly email digests. Every 15 minutes: each person's digest "
            "goes out at their local hour, once (delivery records)."
        ),
    ),
    Periodic(
        name="reminders: fire due reminders",
        task="messaging.integrations.reminders.tasks.sweep_reminders",
        every=5,
        period=IntervalSchedule.SECONDS,
        description=(
            "Every 5 seconds: each pending reminder whose time has come fires once "
            "(a reminder notification, by the person's channels)."
        ),
    ),
    Periodic(
        name="files: purge expired uploads and deleted messages' files",
        task="messaging.files.tasks.purge_files",
        every=1,
        period=IntervalSchedule.HOURS,
        description=(
            "Hourly: removes uploads never sent (after UNSENT_UPLOAD_HOURS) and the "
            "files of messages deleted more than DELETED_FILE_RETENTION_DAYS ago."
        ),
    ),
    Periodic(
        name="files: retry or give up previews stuck pending",
        task="messaging.files.tasks.sweep_previews",
        every=10,
        period=IntervalSchedule.MINUTES,
        description=(
            "Every 10 minutes: previews still pending after twice their timeout are "
            "queued again (the broker was down, the worker died); after an hour they fail."
        ),
    ),
    Periodic(
        name="threads: retry or give up link previews stuck pending",
        task="messaging.threads.tasks.sweep_link_previews",
        every=5,
        period=IntervalSchedule.MINUTES,
        description=(
            "Every 5 minutes: link cards still pending two minutes after their message "
            "(Redis or the broker restarted empty, the worker died) are fetched again; "
            "after an hour they fail."
        ),
    ),
    Periodic(
        name="scheduled messages: send those due",
        task="messaging.integrations.scheduling.tasks.send_due_scheduled_messages",
        every=5,
        period=IntervalSchedule.SECONDS,
        description=(
            "Every 5 seconds: scheduled messages whose time has come are sent through "
            "the ordinary send, once each; those their author may no longer post fail "
            "with the reason, and the author is told."
        ),
    ),
    Periodic(
        name="accounts: clear expired sessions",
        task="accounts.tasks.clear_expired_sessions",
        every=1,
        period=IntervalSchedule.DAYS,
        description=(
            "Daily: deletes the sign-in sessions past their expiry (Django's "
            "clearsessions), so the sessions table holds only live ones."
        ),
    ),
)


@transaction.atomic
def ensure_periodic_tasks() -> list[str]:
    """Create the periodic tasks that are missing; returns their names.
    Running it again changes nothing."""
    created = []
    for periodic in PERIODIC_TASKS:
        interval, _ = IntervalSchedule.objects.get_or_create(
            every=periodic.every, period=periodic.period
        )
        _, made = PeriodicTask.objects.get_or_create(
            name=periodic.name,
            defaults={
                "task": periodic.task,
                "interval": interval,
                "description": periodic.description,
            },
        )
        if made:
            created.append(periodic.name)
    return created
