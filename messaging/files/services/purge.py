"""Removing stored files nothing needs any more: uploads never sent, and
the files of messages deleted long enough ago."""

import logging
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from messaging import audit
from messaging.files import storage
from messaging.files.models import Attachment
from messaging.models import AuditAction

logger = logging.getLogger(__name__)

# Attachments removed per transaction.
BATCH = 200


def _expired() -> Q:
    now = timezone.now()
    unsent_before = now - timedelta(hours=int(settings.PARLEY["UNSENT_UPLOAD_HOURS"]))
    deleted_before = now - timedelta(days=int(settings.PARLEY["DELETED_FILE_RETENTION_DAYS"]))
    return Q(message__isnull=True, created_at__lt=unsent_before) | Q(
        message__deleted_at__lt=deleted_before
    )


def keys_of(attachment: Attachment) -> list[str]:
    """Every stored object of an attachment: the original, its thumbnail,
    its rendered preview pages."""
    pages = [page.get("key", "") for page in attachment.preview_pages or []]
    return [attachment.storage_key, attachment.thumbnail_key, *pages]


def purge_expired() -> int:
    """Remove unsent uploads older than ``UNSENT_UPLOAD_HOURS`` and the
    attachments of messages deleted more than ``DELETED_FILE_RETENTION_DAYS``
    ago: their stored objects first, then their rows (an object whose row
    is gone would be lost track of; a row whose objects are gone is found
    again next run, and deleting a missing object is no error), in
    batches, each under row locks. Writes one
    ``file.purge`` audit row per run that removed anything, with the count.
    Returns how many attachments were removed. Safe to run concurrently and
    repeatedly.
    """
    removed = 0
    while True:
        with transaction.atomic():
            # Locked, so a send claiming one of these waits, then finds it
            # gone ("already sent") rather than sending a file whose bytes
            # were just deleted; rows another purge holds are skipped.
            batch = list(
                Attachment.objects.filter(_expired())
                .select_for_update(of=("self",), skip_locked=True)
                .only("id", "storage_key", "thumbnail_key", "preview_pages")[:BATCH]
            )
            for attachment in batch:
                storage.delete(*keys_of(attachment))
            if batch:
                _, deleted = Attachment.objects.filter(pk__in=[a.pk for a in batch]).delete()
                removed += deleted.get(Attachment._meta.label, 0)
        if len(batch) < BATCH:
            break
    if removed:
        audit.record(actor=None, action=AuditAction.FILE_PURGE, count=removed)
        logger.info("Purged %d stored files", removed)
    return removed
