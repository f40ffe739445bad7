"""The purge: unsent uploads past UNSENT_UPLOAD_HOURS and the files of
messages deleted more than DELETED_FILE_RETENTION_DAYS ago leave storage
and the table; everything fresher stays. Through the periodic task."""

import uuid
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from messaging import services
from messaging.files import storage
from messaging.files.models import Attachment, AttachmentKind
from messaging.files.tasks import purge_files
from messaging.models import AuditAction, AuditLog, Message
from tests.files.factories import exists, make_attachment, stored_keys

pytestmark = [pytest.mark.services, pytest.mark.django_db]


def sent(user, conversation, attachment):
    return services.send_message(
        sender=user,
        conversation_id=conversation.pk,
        content="",
        client_id=uuid.uuid4(),
        attachment_ids=[attachment.pk],
    ).message


def test_purge_removes_expired_files_and_keeps_the_rest(student, direct):
    now = timezone.now()
    old_upload = make_attachment(
        uploader=student, conversation=direct, created_at=now - timedelta(hours=25)
    )
    fresh_upload = make_attachment(
        uploader=student, conversation=direct, created_at=now - timedelta(hours=23)
    )
    long_deleted = make_attachment(
        uploader=student, conversation=direct, kind=AttachmentKind.PDF, preview_pages=2
    )
    recently_deleted = make_attachment(uploader=student, conversation=direct)
    kept_sent = make_attachment(uploader=student, conversation=direct)
    # Sent long ago and never deleted: a message's file stays for good.
    Attachment.objects.filter(pk=kept_sent.pk).update(created_at=now - timedelta(days=400))
    for attachment in (long_deleted, recently_deleted, kept_sent):
        sent(student, direct, attachment)
    for attachment, days in ((long_deleted, 31), (recently_deleted, 29)):
        message_id = Attachment.objects.get(pk=attachment.pk).message_id
        services.delete_message(actor=student, message_id=message_id)
        Message.objects.filter(pk=message_id).update(deleted_at=now - timedelta(days=days))

    gone = (old_upload, long_deleted)
    stay = (fresh_upload, recently_deleted, kept_sent)
    assert all(exists(key) for a in gone + stay for key in stored_keys(a))
    assert len(stored_keys(long_deleted)) == 3  # original and two pages
    assert len(stored_keys(old_upload)) == 2  # original and thumbnail

    assert purge_files.apply().result == 2

    for attachment in gone:
        assert not Attachment.objects.filter(pk=attachment.pk).exists()
        assert not any(exists(key) for key in stored_keys(attachment))
    for attachment in stay:
        assert Attachment.objects.filter(pk=attachment.pk).exists()
        assert all(exists(key) for key in stored_keys(attachment))
    row = AuditLog.objects.get(action=AuditAction.FILE_PURGE)
    assert row.details == {"count": 2} and row.actor_id is None

    # Again: nothing left to remove, no second audit row.
    assert purge_files.apply().result == 0
    assert AuditLog.objects.filter(action=AuditAction.FILE_PURGE).count() == 1


def test_purge_tolerates_objects_already_gone(student, direct, settings):
    old = make_attachment(
        uploader=student,
        conversation=direct,
        created_at=timezone.now() - timedelta(hours=30),
    )
    storage.delete(old.storage_key)  # a purge that stopped half-way
    assert purge_files.apply().result == 1
    assert not Attachment.objects.filter(pk=old.pk).exists()
    assert not exists(old.thumbnail_key)


def test_the_retention_settings_are_read_at_run_time(student, direct, settings):
    settings.PARLEY = {**settings.PARLEY, "UNSENT_UPLOAD_HOURS": 1}
    upload = make_attachment(
        uploader=student, conversation=direct, created_at=timezone.now() - timedelta(hours=2)
    )
    assert purge_files.apply().result == 1
    assert not Attachment.objects.filter(pk=upload.pk).exists()


def test_the_purge_is_scheduled_hourly():
    call_command("setup_periodic_tasks", stdout=StringIO())
    task = PeriodicTask.objects.get(task=purge_files.name)
    assert (task.interval.every, task.interval.period) == (1, "hours")


def test_rows_deleted_by_a_cascade_take_their_bytes_once_that_commits(
    student, mentor, direct, django_capture_on_commit_callbacks
):
    """A conversation deleted in the admin cascades to its attachments; no
    service sees it, and their stored objects must not be left behind."""
    sent_one = make_attachment(uploader=student, conversation=direct)
    sent(student, direct, sent_one)
    unsent = make_attachment(uploader=mentor, conversation=direct)
    keys = stored_keys(sent_one) + stored_keys(unsent)
    assert keys and all(exists(key) for key in keys)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        direct.delete()
    assert all(exists(key) for key in keys)  # not before the commit
    for callback in callbacks:
        callback()
    assert not Attachment.objects.exists()
    assert not any(exists(key) for key in keys)
