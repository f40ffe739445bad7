"""Where attachment bytes live: ``storages["default"]`` (the filesystem
under ``var/media`` in the embedded default, a private S3 bucket in
production). Keys are made here, never from a user's file name."""

import logging
from uuid import UUID

from django.conf import settings
from django.core.files.base import ContentFile, File
from django.core.files.storage import Storage, storages
from django.utils.http import content_disposition_header

logger = logging.getLogger(__name__)


def backend() -> Storage:
    return storages["default"]


def key_for(attachment_id: UUID, part: str, extension: str) -> str:
    """``part``: ``original``, ``thumbnail`` or ``page-N``; ``extension``
    with its dot (from the detected type)."""
    hexid = attachment_id.hex
    return f"attachments/{hexid[:2]}/{hexid}/{part}{extension}"


def save(key: str, content: File | bytes) -> str:
    """Store ``content`` under ``key``; the key actually used (a storage may
    change a name that is taken)."""
    if isinstance(content, bytes):
        content = ContentFile(content)
    return backend().save(key, content)


def open_file(key: str) -> File:
    return backend().open(key, "rb")


def delete(*keys: str) -> None:
    """Remove what exists of ``keys``; a missing object is no error (a purge
    that ran twice, an upload that failed half-way)."""
    storage = backend()
    for key in keys:
        if key:
            storage.delete(key)


def delete_quietly(*keys: str) -> None:
    """``delete``, for cleaning up after the fact: a failure is logged, not
    raised (the row is gone either way; the object is left over)."""
    try:
        delete(*keys)
    except Exception:
        logger.exception("Could not remove the stored files %s", keys)


def signed_url(key: str, *, filename: str, content_type: str, inline: bool) -> str | None:
    """A short-lived URL straight to the object, with its type and
    disposition fixed in the signature, when the storage can sign (S3);
    ``None`` when Parley serves the bytes itself (the filesystem)."""
    storage = backend()
    if not getattr(storage, "querystring_auth", False):
        return None
    parameters = {
        "ResponseContentType": content_type,
        "ResponseContentDisposition": content_disposition_header(
            as_attachment=not inline, filename=filename
        ),
    }
    # django-storages' S3Storage.url takes these; Storage's stub does not.
    return storage.url(  # type: ignore[call-arg]
        key, parameters=parameters, expire=settings.PARLEY["FILE_URL_EXPIRY_SECONDS"]
    )
