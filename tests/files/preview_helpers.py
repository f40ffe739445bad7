"""Attachments made directly for the preview tests: the bytes stored under
their key, the row written as an upload would leave it (pending)."""

import hashlib
import uuid

from messaging.files import storage
from messaging.files.models import Attachment, AttachmentKind, PreviewState

# kind, detected type, stored extension
PDF = (AttachmentKind.PDF, "application/pdf", ".pdf")
DOCX = (
    AttachmentKind.OFFICE,
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ".docx",
)
TEXT = (AttachmentKind.TEXT, "text/plain", ".txt")
CSV = (AttachmentKind.TEXT, "text/csv", ".csv")


def stored_attachment(
    *,
    conversation,
    uploader,
    data: bytes,
    kind_type_extension: tuple[str, str, str] = PDF,
    message=None,
    preview_state: str = PreviewState.PENDING,
) -> Attachment:
    kind, content_type, extension = kind_type_extension
    attachment_id = uuid.uuid4()
    key = storage.save(storage.key_for(attachment_id, "original", extension), data)
    return Attachment.objects.create(
        id=attachment_id,
        conversation=conversation,
        message=message,
        uploader=uploader,
        original_name=f"file{extension}",
        name=f"file{extension}",
        size=len(data),
        content_type=content_type,
        kind=kind,
        sha256=hashlib.sha256(data).hexdigest(),
        storage_key=key,
        preview_state=preview_state,
    )


def stored_objects(attachment: Attachment) -> list[str]:
    """The names stored in the attachment's folder."""
    folder = storage.key_for(attachment.pk, "x", "").rsplit("/", 1)[0]
    backend = storage.backend()
    if not backend.exists(folder):
        return []
    return sorted(backend.listdir(folder)[1])
