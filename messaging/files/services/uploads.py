"""Taking a file in, and discarding an upload that was never sent.

An upload is stored whole or not at all: its bytes are written first, then
its row and audit record in one transaction, and if anything after the
first byte was stored fails, the stored bytes are removed again. The row
holds the bytes as served (for an image, Parley's re-encoded image), their
type as sniffed, and a sanitized name.
"""

import hashlib
import io
import logging
import threading
import uuid
import zipfile
from dataclasses import dataclass
from datetime import timedelta
from functools import partial
from uuid import UUID

import pypdfium2
from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.template.defaultfilters import filesizeformat
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from accounts.models import User
from config import broker
from messaging import audit, policy
from messaging.e2e import errors as e2e_errors
from messaging.e2e import messages as e2e_messages
from messaging.errors import FileRefused, FileTooLarge, NotFound, UploadQuotaExceeded
from messaging.files import images, names, sniffing, storage, tasks
from messaging.files.models import Attachment, AttachmentKind, PreviewState
from messaging.files.selectors import quota
from messaging.files.services import previews
from messaging.models import AuditAction, Conversation
from messaging.moderation import filtering
from messaging.services.messages import refuse_if_muted
from messaging.services.transactions import lock_person, write_transaction

logger = logging.getLogger(__name__)

# Kinds whose preview a task makes after the upload commits. Images get
# their thumbnail during the upload; archives are never opened.
PREVIEWED_KINDS = frozenset({AttachmentKind.PDF, AttachmentKind.OFFICE, AttachmentKind.TEXT})


@dataclass(frozen=True)
class Prepared:
    """An upload checked and made ready to store."""

    file_type: sniffing.FileType
    content: bytes  # what is stored and served
    width: int | None = None
    height: int | None = None
    thumbnail: bytes = b""
    thumbnail_type: sniffing.FileType | None = None
    thumbnail_width: int | None = None
    thumbnail_height: int | None = None
    page_count: int = 0


def _damaged(what: str) -> FileRefused:
    """``what``: ``"PDF"``, ``"archive"`` or ``"document"``."""
    messages = {
        "PDF": _("The PDF is damaged or incomplete."),
        "archive": _("The archive is damaged or incomplete."),
        "document": _("The document is damaged or incomplete."),
    }
    return FileRefused(messages[what], code="damaged_file")


# PDFium is not thread-safe (pypdfium2's documentation: concurrent use
# corrupts or crashes the process), and each request's view runs in a thread
# of its own: one PDF is opened at a time in a process. Opening reads the
# cross-reference table only, so the wait is short.
_PDFIUM = threading.Lock()

# A zip container's members may expand to at most this many bytes in all (a
# zip bomb would hold the preview's LibreOffice far longer than its bytes).
MAX_UNZIPPED_BYTES = 500 * 1024 * 1024

# A zip's central directory may be at most this long. Reading it costs about
# a second a megabyte (an object per member), so a 25 MB upload of empty
# members would hold a worker for half a minute; a megabyte lists some
# eight thousand files of ordinary names, far more than any document has.
MAX_ZIP_DIRECTORY_BYTES = 1024 * 1024

# End of central directory records (APPNOTE.TXT 4.3.14-4.3.16).
_END_OF_DIRECTORY = b"PK\x05\x06"
_ZIP64_LOCATOR = b"PK\x06\x07"
_ZIP64_END_OF_DIRECTORY = b"PK\x06\x06"


def _pdf_pages(content: bytes) -> int:
    """The number of pages of a PDF that PDFium opens; refused otherwise.
    Opening reads the cross-reference table only, not the pages."""
    with _PDFIUM:
        try:
            document = pypdfium2.PdfDocument(content)
        except pypdfium2.PdfiumError:
            raise _damaged("PDF") from None
        try:
            pages = len(document)
        finally:
            document.close()
    if pages < 1:
        raise _damaged("PDF")
    return pages


def _directory_bytes(content: bytes) -> int:
    """The length a zip's end record gives its central directory (the zip64
    record's when there is one): what ``zipfile`` would read and parse. 0
    when there is no end record (``zipfile`` then refuses it)."""
    end = content.rfind(_END_OF_DIRECTORY, max(0, len(content) - 22 - 0xFFFF))
    if end < 0 or len(content) - end < 22:
        return 0
    size = int.from_bytes(content[end + 12 : end + 16], "little")
    locator = end - 20
    if locator >= 0 and content[locator : locator + 4] == _ZIP64_LOCATOR:
        record = int.from_bytes(content[locator + 8 : locator + 16], "little")
        if content[record : record + 4] == _ZIP64_END_OF_DIRECTORY:
            size = int.from_bytes(content[record + 40 : record + 48], "little")
    return size


def _check_zip(content: bytes, what: str) -> None:
    """A zip container (an archive, or an office document of the zip kind)
    whose central directory reads: a truncated one has none. Its length is
    checked before it is read (``MAX_ZIP_DIRECTORY_BYTES``). Nothing is
    extracted."""
    if _directory_bytes(content) > MAX_ZIP_DIRECTORY_BYTES:
        messages = {
            "archive": _("The archive lists too many files."),
            "document": _("The document holds too many parts."),
        }
        raise FileRefused(messages[what], code="damaged_file")
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            unzipped = sum(member.file_size for member in archive.infolist())
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError):
        raise _damaged(what) from None
    if unzipped > MAX_UNZIPPED_BYTES:
        messages = {
            "archive": _("The archive would expand to more than %(count)s MB."),
            "document": _("The document would expand to more than %(count)s MB."),
        }
        raise FileRefused(
            messages[what] % {"count": MAX_UNZIPPED_BYTES // 2**20}, code="damaged_file"
        )


def prepare(content: bytes, name: str) -> Prepared:
    """Sniff ``content`` and check it as its type asks (``FileRefused``,
    ``UnsupportedFile`` otherwise): images decoded and re-encoded with a
    thumbnail (``messaging.files.images``); a PDF opened by PDFium (its
    page count kept); zip containers' directories read."""
    if not content:
        raise FileRefused(_("The file is empty."), code="empty_file")
    file_type = sniffing.sniff(content, name)
    if file_type.kind == AttachmentKind.IMAGE:
        image = images.process(content, file_type)
        return Prepared(
            file_type=file_type,
            content=image.content,
            width=image.width,
            height=image.height,
            thumbnail=image.thumbnail,
            thumbnail_type=image.thumbnail_type,
            thumbnail_width=image.thumbnail_width,
            thumbnail_height=image.thumbnail_height,
        )
    if file_type.kind == AttachmentKind.PDF:
        return Prepared(file_type=file_type, content=content, page_count=_pdf_pages(content))
    if file_type.zipped:
        what = "archive" if file_type.kind == AttachmentKind.ARCHIVE else "document"
        _check_zip(content, what)
    return Prepared(file_type=file_type, content=content)


# An end-to-end encrypted file (docs/e2e.md, "Files"): bytes the server
# cannot read, stored and served as they came, under a name that says nothing.
ENCRYPTED_TYPE = sniffing.FileType(AttachmentKind.ENCRYPTED, "application/octet-stream", (".bin",))
ENCRYPTED_NAME = "encrypted.bin"


def _check_encryption(conversation: Conversation, encrypted: bool) -> None:
    """An encrypted conversation takes encrypted uploads only
    (``e2e_required``), a plain one none (``e2e_not_allowed``)."""
    if e2e_messages.is_encrypted_conversation(conversation.pk):
        if not encrypted:
            raise e2e_errors.E2eRequired(
                _("This conversation is end-to-end encrypted; upload the file encrypted.")
            )
    elif encrypted:
        raise e2e_errors.E2eNotAllowed(_("This conversation is not end-to-end encrypted."))


def _postable_conversation(uploader: User, conversation_id: UUID) -> Conversation:
    """The conversation, once ``uploader`` may post in it. Someone who is
    not a member is told there is no such conversation (its existence is
    not theirs to learn); the refusal is in the audit log all the same."""
    conversation = Conversation.objects.filter(pk=conversation_id).first()
    if conversation is None:
        raise NotFound(_("No such conversation."))
    if policy.is_acting(uploader) and not policy.may_read(uploader, conversation):
        audit.record_denial(
            actor=uploader,
            attempted=AuditAction.FILE_UPLOAD,
            conversation_id=conversation.pk,
            reason="You are not a member of this conversation.",
        )
        raise NotFound(_("No such conversation."))
    with audit.denials_recorded(
        actor=uploader, attempted=AuditAction.FILE_UPLOAD, conversation_id=conversation.pk
    ):
        policy.check_post(uploader, conversation)  # deactivated, archived, blocked
    # A file is only ever sent with a message, which a mute refuses: refused
    # here already, as a send is (same error, same until and retry_after),
    # so a muted person stores nothing and learns why at once.
    refuse_if_muted(uploader, conversation.pk)
    return conversation


def _check_size(size: int) -> None:
    limit = settings.PARLEY["MAX_UPLOAD_BYTES"]
    if size > limit:
        raise FileTooLarge(limit)
    if size == 0:
        raise FileRefused(_("The file is empty."), code="empty_file")


def _check_quota(uploader: User, size: int) -> None:
    """``UploadQuotaExceeded`` unless one more file of ``size`` bytes fits
    the uploader's last 24 hours."""
    used = quota.uploaded_last_day(uploader)
    files, total = settings.PARLEY["DAILY_UPLOAD_COUNT"], settings.PARLEY["DAILY_UPLOAD_BYTES"]
    if used.count + 1 > files:
        raise UploadQuotaExceeded(
            ngettext(
                "At most %(count)s file in 24 hours; try later.",
                "At most %(count)s files in 24 hours; try later.",
                files,
            )
            % {"count": files}
        )
    if used.bytes + size > total:
        raise UploadQuotaExceeded(
            _("At most %(size)s of files in 24 hours; try later.") % {"size": filesizeformat(total)}
        )


def _read(upload: UploadedFile) -> bytes:
    """The upload's bytes, never more than the limit (``size`` is what the
    request parser counted; a file object handed in otherwise may say less
    than it holds)."""
    limit = settings.PARLEY["MAX_UPLOAD_BYTES"]
    upload.seek(0)
    content = upload.read(limit + 1)
    if len(content) > limit:
        raise FileTooLarge(limit)
    return content


def _original_name(upload: UploadedFile) -> str:
    """The name as given, printable characters only (PostgreSQL stores no
    NUL), cut to the column."""
    return "".join(c for c in (upload.name or "") if c.isprintable())[:255]


def requeue_stale_previews() -> int:
    """Queue again the previews still pending well after their task should
    have ended (twice the preview timeout, and a minute): the broker was
    down when they were uploaded, or the worker died. A preview made twice
    is written once (``previews.make_preview``); one pending too long is
    given up (``previews.fail_abandoned``). Returns how many were queued."""
    now = timezone.now()
    stale = now - timedelta(seconds=2 * settings.PARLEY["PREVIEW_TIMEOUT_SECONDS"] + 60)
    ids = list(
        Attachment.objects.filter(
            preview_state=PreviewState.PENDING,
            created_at__lt=stale,
            created_at__gte=now - previews.ABANDONED_AFTER,
        ).values_list("pk", flat=True)
    )
    for attachment_id in ids:
        _queue_preview(attachment_id)
    return len(ids)


def _queue_preview(attachment_id: UUID) -> None:
    # Like events.enqueue_on_commit: a broker that is down loses a preview,
    # not the upload (requeue_stale_previews queues it again later).
    try:
        broker.send(tasks.make_preview, str(attachment_id))
    except Exception:
        logger.exception("Could not queue the preview of attachment %s", attachment_id)


def create_upload(
    *, uploader: User, conversation_id: UUID, upload: UploadedFile, encrypted: bool = False
) -> Attachment:
    """Store ``upload`` as an unsent attachment of the conversation.

    In order: the uploader must be able to post there (``NotFound`` for no
    such conversation or not a member, ``ConversationArchived``,
    ``AccessDenied`` for a deactivated account, ``PersonBlocked`` in a
    direct conversation with a block, ``Muted`` while a moderator's mute
    is in force there or everywhere); the name must pass the
    content filter's blocking rules (``ContentBlocked``; flagging rules
    look at the name again when the file is sent); ``upload.size`` at most
    ``MAX_UPLOAD_BYTES`` (``FileTooLarge``, before a byte is read) and not
    zero (``FileRefused`` ``empty_file``); the daily limits
    (``UploadQuotaExceeded``, checked on the size uploaded, and again on
    the size stored when the row is written, under a lock of the
    uploader's row); the type from the bytes and its checks (``prepare``).
    Then the bytes (and an image's thumbnail) are stored, the row and a
    ``file.upload`` audit record written, and for PDF, office and text
    files the preview task queued once that commits.

    ``encrypted``: the bytes are an end-to-end encrypted file (docs/e2e.md),
    required in an encrypted conversation (``e2e_required`` without) and
    refused in a plain one (``e2e_not_allowed``). Such a file is stored as
    it came, ``application/octet-stream`` named ``encrypted.bin`` (whatever
    it was called), kind ``encrypted``: no filter on its name, no type
    check, no re-encoding, thumbnail or preview; the size and quota limits
    apply.

    Call it outside a transaction: bytes stored for a row that an outer
    rollback removes would stay behind.
    """
    conversation = _postable_conversation(uploader, conversation_id)
    _check_encryption(conversation, encrypted)
    original_name = ENCRYPTED_NAME if encrypted else _original_name(upload)
    if not encrypted:
        with filtering.blocks_recorded():
            filtering.check(
                user=uploader,
                conversation=conversation,
                text=original_name,
                field=filtering.FIELD_FILE_NAME,
            ).refuse()
    _check_size(upload.size or 0)
    # Early, on the size as uploaded, so a refused file is never read...
    _check_quota(uploader, upload.size or 0)
    if encrypted:
        content = _read(upload)
        _check_size(len(content))
        prepared = Prepared(file_type=ENCRYPTED_TYPE, content=content)
    else:
        prepared = prepare(_read(upload), upload.name or "")
    file_type = prepared.file_type
    attachment_id = uuid.uuid4()
    pending = file_type.kind in PREVIEWED_KINDS
    attachment = Attachment(
        id=attachment_id,
        conversation=conversation,
        uploader=uploader,
        original_name=original_name,
        name=ENCRYPTED_NAME if encrypted else names.sanitize(upload.name or "", file_type),
        size=len(prepared.content),
        content_type=file_type.content_type,
        kind=file_type.kind,
        sha256=hashlib.sha256(prepared.content).hexdigest(),
        width=prepared.width,
        height=prepared.height,
        thumbnail_width=prepared.thumbnail_width,
        thumbnail_height=prepared.thumbnail_height,
        page_count=prepared.page_count,
        preview_state=PreviewState.PENDING if pending else PreviewState.NONE,
    )
    stored: list[str] = []
    try:
        attachment.storage_key = storage.save(
            storage.key_for(attachment_id, "original", file_type.extension), prepared.content
        )
        stored.append(attachment.storage_key)
        if prepared.thumbnail_type is not None:
            attachment.thumbnail_key = storage.save(
                storage.key_for(attachment_id, "thumbnail", prepared.thumbnail_type.extension),
                prepared.thumbnail,
            )
            stored.append(attachment.thumbnail_key)
        with transaction.atomic():
            # ...and again on the size as stored, with the uploader's other
            # uploads held off, so the quota is exact.
            lock_person(uploader)
            _check_quota(uploader, attachment.size)
            attachment.save(force_insert=True)
            audit.record(
                actor=uploader,
                action=AuditAction.FILE_UPLOAD,
                conversation_id=conversation.pk,
                attachment_id=str(attachment_id),
                name=attachment.name,
                size=attachment.size,
                content_type=attachment.content_type,
                sha256=attachment.sha256,
            )
            if pending:
                transaction.on_commit(partial(_queue_preview, attachment_id))
    except BaseException:
        storage.delete_quietly(*stored)
        raise
    return attachment


def discard_upload(*, actor: User, attachment_id: UUID) -> None:
    """Remove an upload that no message claimed: the uploader's own only
    (``NotFound`` for anything else, sent or someone else's). The row goes
    with a ``file.discard`` audit record; the bytes (original, thumbnail,
    preview pages) once that commits (``messaging.files.receivers``). The
    row is locked first, so a send claiming it at the same moment either
    wins (and this finds nothing) or finds it gone."""
    with write_transaction(actor=actor, attempted=AuditAction.FILE_DISCARD):
        attachment = (
            Attachment.objects.select_for_update()
            .filter(pk=attachment_id, uploader_id=actor.pk, message__isnull=True)
            .first()
        )
        if attachment is None:
            raise NotFound(_("No such upload."))
        # Its bytes go once this commits (messaging.files.receivers).
        attachment.delete()
        audit.record(
            actor=actor,
            action=AuditAction.FILE_DISCARD,
            conversation_id=attachment.conversation_id,
            attachment_id=str(attachment_id),
            name=attachment.name,
            size=attachment.size,
        )
