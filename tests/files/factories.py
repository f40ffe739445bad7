"""Attachments made straight into storage and the table, as an upload
would leave them, for tests of sending, serving and purging (the upload
path itself is tested in test_uploads*.py)."""

import hashlib
import io
import uuid

from django.utils import timezone
from PIL import Image

from messaging.files import storage
from messaging.files.models import Attachment, AttachmentKind, PreviewState
from messaging.files.services import purge
from tests.files import makers

# kind -> (bytes maker, detected type, extension, name)
SAMPLES = {
    AttachmentKind.IMAGE: (makers.png, "image/png", ".png", "diagram.png"),
    AttachmentKind.PDF: (
        lambda: makers.pdf("Page one", "Page two"),
        "application/pdf",
        ".pdf",
        "draft.pdf",
    ),
    AttachmentKind.TEXT: (makers.text, "text/plain", ".txt", "notes.txt"),
    AttachmentKind.OFFICE: (
        makers.docx,
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        ".docx",
        "essay.docx",
    ),
}


def _thumbnail(data: bytes) -> tuple[bytes, int, int]:
    with Image.open(io.BytesIO(data)) as image:
        image = image.convert("RGB")
        image.thumbnail((32, 32))
        out = io.BytesIO()
        image.save(out, "WEBP")
        return out.getvalue(), image.width, image.height


def _page(width: int = 90, height: int = 120) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), "white").save(out, "PNG")
    return out.getvalue()


def stored_row(
    attachment_id: uuid.UUID,
    *,
    conversation,
    uploader,
    data: bytes,
    kind: str,
    content_type: str,
    extension: str,
    name: str,
    **fields,
) -> Attachment:
    """``data`` stored as the original under its key, and the row for it
    (``fields``: any other columns)."""
    key = storage.save(storage.key_for(attachment_id, "original", extension), data)
    return Attachment.objects.create(
        id=attachment_id,
        conversation=conversation,
        uploader=uploader,
        original_name=name,
        name=name,
        size=len(data),
        content_type=content_type,
        kind=kind,
        sha256=hashlib.sha256(data).hexdigest(),
        storage_key=key,
        **fields,
    )


def make_attachment(
    *,
    uploader,
    conversation,
    kind: str = AttachmentKind.IMAGE,
    data: bytes | None = None,
    name: str | None = None,
    preview_pages: int = 0,
    created_at=None,
) -> Attachment:
    """An unsent upload of ``uploader`` in ``conversation``: the bytes in
    storage (``storage.save(storage.key_for(…))``), an image's thumbnail,
    ``preview_pages`` rendered pages for a document, and its row."""
    maker, content_type, extension, default_name = SAMPLES[kind]
    data = maker() if data is None else data
    attachment_id = uuid.uuid4()
    fields: dict = {}
    if kind == AttachmentKind.IMAGE:
        with Image.open(io.BytesIO(data)) as image:
            fields["width"], fields["height"] = image.size
        thumb, tw, th = _thumbnail(data)
        fields["thumbnail_key"] = storage.save(
            storage.key_for(attachment_id, "thumbnail", ".webp"), thumb
        )
        fields["thumbnail_width"], fields["thumbnail_height"] = tw, th
    if preview_pages:
        pages = []
        for n in range(1, preview_pages + 1):
            key = storage.save(storage.key_for(attachment_id, f"page-{n}", ".png"), _page())
            pages.append({"key": key, "width": 90, "height": 120})
        fields.update(
            preview_pages=pages, page_count=preview_pages, preview_state=PreviewState.READY
        )
    attachment = stored_row(
        attachment_id,
        conversation=conversation,
        uploader=uploader,
        data=data,
        kind=kind,
        content_type=content_type,
        extension=extension,
        name=name or default_name,
        **fields,
    )
    if created_at is not None:
        # auto_now_add ignores a value given to create().
        Attachment.objects.filter(pk=attachment.pk).update(created_at=created_at)
        attachment.created_at = created_at
    return attachment


def stored_keys(attachment: Attachment) -> list[str]:
    return [key for key in purge.keys_of(attachment) if key]


def exists(key: str) -> bool:
    return storage.backend().exists(key)


def now():
    return timezone.now()
