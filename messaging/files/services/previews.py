"""Document previews: PDF pages rendered, office documents through
LibreOffice then rendered, text excerpts; the text found is kept.

``make_preview`` is what the ``make_preview`` task runs, once per upload of
a PDF, office document or text file (``preview_state`` pending). The slow
part (copying the original out of storage, LibreOffice, PDFium) runs
outside any transaction, bounded as a whole by ``PREVIEW_TIMEOUT_SECONDS``;
only the short write of the result locks the row. The send's claim of the
attachment locks the same row, so either the send sees the result, or this
sees the send's message and tells the conversation (``attachment.updated``).
"""

import logging
import shutil
import tempfile
import time
from datetime import timedelta
from pathlib import Path, PurePosixPath
from uuid import UUID

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from messaging import events
from messaging.files import rendering, storage
from messaging.files.models import Attachment, AttachmentKind, PreviewState
from messaging.models import Message
from messaging.search.services import indexing

logger = logging.getLogger(__name__)

# A preview pending this long after its upload is given up (fail_abandoned).
ABANDONED_AFTER = timedelta(hours=1)


def make_preview(attachment_id: UUID) -> None:
    """Render the preview of the attachment ``attachment_id`` and record it:
    ``ready`` with its page images, page count and text, or ``failed`` with
    a short reason (a damaged file, a timeout, LibreOffice missing), its
    half-stored pages removed. Does nothing unless the attachment exists and
    is ``pending``: a second run, or a run after the upload was discarded,
    changes nothing. Never raises for a bad file; an unexpected error is
    logged and recorded as a failure too, so no attachment stays pending
    for ever because of its bytes."""
    attachment = Attachment.objects.filter(pk=attachment_id).first()
    if attachment is None or attachment.preview_state != PreviewState.PENDING:
        logger.info("Preview of %s: nothing to do", attachment_id)
        return

    started = time.monotonic()
    stored_keys: list[str] = []
    pages: list[dict] = []
    result: rendering.Rendered | None = None
    error = ""
    try:
        result = _render(attachment, deadline=started + settings.PARLEY["PREVIEW_TIMEOUT_SECONDS"])
        for number, page in enumerate(result.pages, start=1):
            key = storage.save(storage.key_for(attachment.pk, f"page-{number}", ".png"), page.data)
            stored_keys.append(key)
            pages.append({"key": key, "width": page.width, "height": page.height})
    except rendering.RenderError as exc:
        error = str(exc)
        logger.info("Preview of %s (%s) failed: %s", attachment.pk, attachment.kind, error)
    except Exception:
        error = "The preview could not be made."
        logger.exception("Preview of %s (%s) failed", attachment.pk, attachment.kind)

    recorded = _record(attachment.pk, result=None if error else result, pages=pages, error=error)
    if not recorded or error:
        # A failure, or another run got there first: these pages are nobody's.
        storage.delete(*stored_keys)
    logger.info(
        "Preview of %s (%s): %s in %.2f s",
        attachment.pk,
        attachment.kind,
        ("failed" if error else "ready") if recorded else "already done",
        time.monotonic() - started,
    )


def _render(attachment: Attachment, *, deadline: float) -> rendering.Rendered:
    """The preview of ``attachment``'s stored original, from a copy in a
    temporary folder (LibreOffice and the PDF renderer read files, and a
    storage may be S3). Raises ``RenderError``."""
    max_chars = settings.PARLEY["EXTRACTED_TEXT_MAX_CHARS"]
    with tempfile.TemporaryDirectory(prefix="parley-preview-") as workdir:
        # The stored key's extension comes from the detected type; the user's
        # file name never reaches a command line or a path.
        extension = PurePosixPath(attachment.storage_key).suffix.lower()
        original = Path(workdir) / f"original{extension}"
        with storage.open_file(attachment.storage_key) as source, open(original, "wb") as copy:
            shutil.copyfileobj(source, copy)

        if attachment.kind == AttachmentKind.TEXT:
            return rendering.Rendered([], 0, rendering.read_text(original, max_chars=max_chars))

        if attachment.kind == AttachmentKind.OFFICE:
            outdir = Path(workdir) / "converted"
            outdir.mkdir()
            original = rendering.office_to_pdf(
                original, timeout=deadline - time.monotonic(), outdir=outdir
            )
        elif attachment.kind != AttachmentKind.PDF:
            raise rendering.RenderError("This kind of file has no preview.")

        return rendering.render_pdf_isolated(
            original,
            max_pages=settings.PARLEY["PREVIEW_MAX_PAGES"],
            width=settings.PARLEY["PREVIEW_PAGE_WIDTH"],
            max_chars=max_chars,
            timeout=deadline - time.monotonic(),
        )


def _record(
    attachment_id: UUID, *, result: rendering.Rendered | None, pages: list[dict], error: str
) -> bool:
    """Write the outcome if the attachment is still pending (True), under the
    row's lock; publish ``attachment.updated`` after commit when a message
    (neither deleted nor hidden) already carries it. False when the row is
    gone or no longer pending."""
    with transaction.atomic():
        attachment = Attachment.objects.select_for_update().filter(pk=attachment_id).first()
        if attachment is None or attachment.preview_state != PreviewState.PENDING:
            return False
        if result is None:
            attachment.preview_state = PreviewState.FAILED
            attachment.preview_error = (error or "The preview could not be made.")[:200]
        else:
            attachment.preview_state = PreviewState.READY
            attachment.preview_pages = pages
            attachment.page_count = result.page_count
            attachment.extracted_text = result.text
            attachment.preview_error = ""
        attachment.save(
            update_fields=[
                "preview_state",
                "preview_error",
                "preview_pages",
                "page_count",
                "extracted_text",
            ]
        )
        # A deleted message's files are nobody's to see any more, and a
        # message a moderator hid shows nothing of them to anyone: its
        # members hear nothing of them (the name and the excerpt would leak)
        # and its text is not made searchable. Restoring a hidden message
        # puts it back whole, previews included.
        message_live = attachment.message_id and not (
            Message.objects.filter(pk=attachment.message_id)
            .filter(Q(deleted_at__isnull=False) | Q(hidden_at__isnull=False))
            .exists()
        )
        if message_live and attachment.message_id and result is not None and result.text:
            # Its text is now searchable with the message.
            indexing.reindex_attachments_of(attachment.message_id)
        if message_live:
            events.publish_on_commit(
                events.conversation_group(attachment.conversation_id),
                events.attachment_updated(attachment),
            )
    return True


def fail_abandoned() -> int:
    """Previews still pending ``ABANDONED_AFTER`` after their upload (their
    task was never queued, or its worker died each time) fail, so their
    message shows the file's card instead of a placeholder for ever; the
    conversation is told as for any failure. Returns how many."""
    before = timezone.now() - ABANDONED_AFTER
    abandoned = Attachment.objects.filter(
        preview_state=PreviewState.PENDING, created_at__lt=before
    ).values_list("pk", flat=True)
    return sum(
        _record(attachment_id, result=None, pages=[], error="The preview was not made in time.")
        for attachment_id in list(abandoned)
    )
