"""Serving an attachment's bytes, thumbnail or preview pages once
``selectors.access.attachment_for`` has allowed the fetch.

Nothing uploaded runs in a browser: every answer carries
``X-Content-Type-Options: nosniff`` and a CSP of its own (``default-src
'none'; sandbox``, replacing the site's); only raster images (Parley's
re-encoded bytes), thumbnails and rendered preview pages are ``inline``,
everything else is ``attachment``. On the filesystem Parley streams the
bytes itself; on S3 it answers 302 to a short-lived signed URL whose type
and disposition are fixed in the signature (``storage.signed_url``).
"""

import mimetypes
from pathlib import PurePosixPath
from typing import Any

from django.http import FileResponse, HttpResponseBase, HttpResponseRedirect
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _

from accounts.models import User
from messaging import audit, limits
from messaging.errors import NotFound
from messaging.files import storage
from messaging.files.models import Attachment, AttachmentKind
from messaging.models import AuditAction

FILE_CSP = "default-src 'none'; sandbox"
# The browser keeps a file a few minutes; each new fetch is checked again.
FILE_CACHE_CONTROL = "private, max-age=300"
# A redirect is not kept: its signed URL expires sooner, and every fetch
# must pass the access check again.
REDIRECT_CACHE_CONTROL = "private, no-store"

# The only types ever served inline: raster images as Parley re-encoded
# them. SVG and HTML are never among them, whatever the stored type says.
INLINE_TYPES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp"})
TEXT_TYPE = "text/plain; charset=utf-8"


def served_type(attachment: Attachment) -> str:
    """The Content-Type of the original: its detected type; text files as
    UTF-8 plain text (CSV included: shown, never interpreted)."""
    if attachment.kind == AttachmentKind.TEXT:
        return TEXT_TYPE
    return attachment.content_type or "application/octet-stream"


def _type_of_key(key: str) -> str:
    return mimetypes.guess_type(key)[0] or "application/octet-stream"


def _derived_name(attachment: Attachment, part: str, key: str) -> str:
    """``report-thumbnail.webp``, ``report-page-2.png``: a derived image's
    name, from the sanitized name and the stored image's extension."""
    stem = PurePosixPath(attachment.name).stem or "file"
    return f"{stem}-{part}{PurePosixPath(key).suffix}"


def _respond(*, key: str, filename: str, content_type: str, inline: bool) -> HttpResponseBase:
    inline = inline and content_type in INLINE_TYPES
    url = storage.signed_url(key, filename=filename, content_type=content_type, inline=inline)
    if url is not None:
        response: HttpResponseBase = HttpResponseRedirect(url)
        response["Cache-Control"] = REDIRECT_CACHE_CONTROL
    else:
        try:
            stored = storage.open_file(key)
        except FileNotFoundError:
            # A row whose object is gone (a purge half-way): nothing to serve.
            raise NotFound(_("No such file.")) from None
        response = FileResponse(stored, content_type=content_type)
        response["Content-Length"] = str(stored.size)
        response["Content-Disposition"] = (
            content_disposition_header(as_attachment=not inline, filename=filename) or ""
        )
        response["Cache-Control"] = FILE_CACHE_CONTROL
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = FILE_CSP
    return response


def serve_content(
    user: User, attachment: Attachment, *, download: bool, moderation: bool = False
) -> HttpResponseBase:
    """The original's bytes: images inline unless ``download``, the rest as
    an attachment. Writes the ``file.download`` audit row (the redirect to
    S3 included: the check is the fetch): one per person and file within
    ``AUDIT_DOWNLOAD_WINDOW_SECONDS``, whose count grows with each fetch, so
    fetching in a loop cannot grow the log. ``moderation`` marks a
    moderator's fetch (``moderation: true`` in its details, and a row of
    its own)."""
    content_type = served_type(attachment)
    response = _respond(
        key=attachment.storage_key,
        filename=attachment.name,
        content_type=content_type,
        inline=attachment.kind == AttachmentKind.IMAGE and not download,
    )
    details: dict[str, Any] = {"attachment_id": str(attachment.pk), "size": attachment.size}
    if moderation:
        details["moderation"] = True
    audit.record_repeated(
        actor=user,
        action=AuditAction.FILE_DOWNLOAD,
        same=(str(attachment.pk), "moderation" if moderation else ""),
        window_length=limits.audit_download_window_seconds(),
        conversation_id=attachment.conversation_id,
        message_id=attachment.message_id,
        **details,
    )
    return response


def serve_thumbnail(attachment: Attachment) -> HttpResponseBase:
    """An image's thumbnail, inline; anything without one is not found."""
    if attachment.kind != AttachmentKind.IMAGE or not attachment.thumbnail_key:
        raise NotFound(_("This file has no thumbnail."))
    key = attachment.thumbnail_key
    return _respond(
        key=key,
        filename=_derived_name(attachment, "thumbnail", key),
        content_type=_type_of_key(key),
        inline=True,
    )


def serve_preview_page(attachment: Attachment, page: int) -> HttpResponseBase:
    """Rendered page ``page`` (from 1) of a document's preview, inline; a
    page beyond those rendered is not found."""
    pages = attachment.preview_pages or []
    if not 1 <= page <= len(pages):
        raise NotFound(_("No such preview page."))
    key = pages[page - 1]["key"]
    return _respond(
        key=key,
        filename=_derived_name(attachment, f"page-{page}", key),
        content_type=_type_of_key(key),
        inline=True,
    )


def serve_stored_image(*, key: str, filename: str) -> HttpResponseBase:
    """An image Parley re-encoded itself and stored under ``key`` (a link
    preview's), inline, typed from its stored extension, with the same
    headers as a file's; the caller has checked access."""
    return _respond(key=key, filename=filename, content_type=_type_of_key(key), inline=True)
