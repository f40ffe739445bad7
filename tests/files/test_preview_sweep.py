"""Previews stuck pending (the broker was down at upload, the worker died):
queued again after twice their timeout, given up after an hour."""

from datetime import timedelta

import pytest
from django.utils import timezone

from messaging.files.models import Attachment, PreviewState
from messaging.files.tasks import sweep_previews
from tests.files import makers
from tests.files.preview_helpers import stored_attachment

pytestmark = [pytest.mark.services, pytest.mark.django_db]


def pending(conversation, uploader, *, age: timedelta) -> Attachment:
    attachment = stored_attachment(
        conversation=conversation, uploader=uploader, data=makers.pdf("Stuck")
    )
    created = timezone.now() - age
    Attachment.objects.filter(pk=attachment.pk).update(created_at=created)
    return attachment


def state(attachment) -> str:
    return Attachment.objects.get(pk=attachment.pk).preview_state


def test_stuck_previews_are_made_again_and_abandoned_ones_fail(direct, assigned, settings):
    mentor, _ = assigned
    settings.PARLEY = {**settings.PARLEY, "PREVIEW_TIMEOUT_SECONDS": 60}
    fresh = pending(direct, mentor, age=timedelta(seconds=30))
    stuck = pending(direct, mentor, age=timedelta(minutes=10))
    abandoned = pending(direct, mentor, age=timedelta(hours=2))

    sweep_previews.apply()

    # Tasks run in this process (tests/conftest.py): the stuck one is made.
    assert state(fresh) == PreviewState.PENDING  # its own task may still be running
    assert state(stuck) == PreviewState.READY
    row = Attachment.objects.get(pk=abandoned.pk)
    assert row.preview_state == PreviewState.FAILED
    assert row.preview_error == "The preview was not made in time."


def test_the_sweep_is_scheduled():
    from io import StringIO

    from django.core.management import call_command
    from django_celery_beat.models import PeriodicTask

    call_command("setup_periodic_tasks", stdout=StringIO())
    task = PeriodicTask.objects.get(task=sweep_previews.name)
    assert (task.interval.every, task.interval.period) == (10, "minutes")
