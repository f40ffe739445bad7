"""Periodic messaging work for the Celery worker (scheduled by beat)."""

from asgiref.sync import async_to_sync
from celery import shared_task

from messaging.realtime import maintenance


@shared_task(ignore_result=True)
def sweep_presence() -> int:
    """Announce offline the users whose sockets all expired.

    ASGI processes sweep while they serve sockets; this covers the time when
    none does (every process restarted or idle). Safe to run anywhere and
    any number of times: a user already swept is not announced again.
    Returns how many users changed.
    """
    return len(async_to_sync(maintenance.sweep)())


# The files package's tasks live beside its code; the worker finds an app's
# tasks through this module.
from messaging.files.tasks import make_preview, purge_files  # noqa: E402, F401
from messaging.integrations.assistant.tasks import answer_message  # noqa: E402, F401
from messaging.integrations.reminders.tasks import sweep_reminders  # noqa: E402, F401
from messaging.integrations.scheduling.tasks import send_due_scheduled_messages  # noqa: E402, F401
from messaging.integrations.webhooks.tasks import (  # noqa: E402, F401
    deliver_outgoing,
    route_message,
)
