"""The integrations' timed work whose result members see live: scheduled
messages sent when due, reminders fired.

Celery beat runs both every few seconds (``notifications.services.schedules``).
In production the worker's frames reach every server process through Redis.
On the embedded default (``PARLEY_LIVE_TASKS_IN_PROCESS``: the in-memory
channel layer, one server process) a frame published by the worker reaches
no socket, so the server process runs the sweeps itself while it serves
sockets (``messaging.realtime.maintenance``), and the worker's beat only
catches what has waited ``LIVE_SWEEP_GRACE`` (no page open, the server
stopped). Each item is claimed once whoever sweeps (the services lock and
compare-and-set), so the two never send or fire one twice.
"""

import datetime as dt

from django.conf import settings
from django.utils import timezone

from messaging.integrations.reminders import services as reminders
from messaging.integrations.scheduling import services as scheduling

# How long the worker leaves due items to the server process on the
# embedded default.
LIVE_SWEEP_GRACE = dt.timedelta(seconds=30)


def in_server_process() -> bool:
    """Whether the server process runs the live sweeps (the embedded default)."""
    return bool(settings.PARLEY_LIVE_TASKS_IN_PROCESS)


def due_for_worker(now: dt.datetime | None = None) -> dt.datetime:
    """The time the worker's beat sweeps up to: now, or ``LIVE_SWEEP_GRACE``
    ago when the server process sweeps live."""
    now = now or timezone.now()
    return now - LIVE_SWEEP_GRACE if in_server_process() else now


def run_live() -> int:
    """Send the due scheduled messages and fire the due reminders, here and
    now (the server process's sweep); returns how many."""
    return scheduling.send_due() + reminders.fire_due_reminders()
