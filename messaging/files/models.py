"""The attachment table. Loaded by ``messaging.models`` (one app, one
models module for Django); nothing here imports it back."""

import uuid

from django.conf import settings
from django.db import models


class AttachmentKind(models.TextChoices):
    IMAGE = "image"  # raster images, re-encoded, shown inline
    PDF = "pdf"
    OFFICE = "office"  # docx, xlsx, pptx, odt, ods, odp (and the old binary formats)
    TEXT = "text"  # plain text and CSV
    ARCHIVE = "archive"  # zip, gzip, tar, 7z: a card, never opened
    # Opaque bytes encrypted in the browser (messaging.e2e): never opened.
    ENCRYPTED = "encrypted"


class PreviewState(models.TextChoices):
    NONE = "none"  # this kind has no preview (images have their thumbnail)
    PENDING = "pending"  # a task will make it
    READY = "ready"
    FAILED = "failed"  # the card stays; the file still downloads


class Attachment(models.Model):
    """One stored file. ``message`` is empty until a send claims it (an
    unsent upload, visible to its uploader only); a purge task removes
    unsent uploads and the files of deleted messages after their retention.

    Storage keys name objects in ``storages["default"]``. The original's
    key holds the bytes as served: for images, the re-encoded image
    (orientation applied, metadata stripped), never what was uploaded."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    conversation = models.ForeignKey(
        "messaging.Conversation", on_delete=models.CASCADE, related_name="attachments"
    )
    message = models.ForeignKey(
        "messaging.Message",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="attachments",
    )
    uploader = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="attachments"
    )
    # Order within its message (the order the sender listed them).
    position = models.PositiveSmallIntegerField(default=0)
    original_name = models.CharField(max_length=255)
    name = models.CharField(max_length=255, help_text="Sanitized; what downloads are called.")
    size = models.BigIntegerField(help_text="Bytes as stored.")
    content_type = models.CharField(max_length=127, help_text="Detected from the bytes.")
    kind = models.CharField(max_length=20, choices=AttachmentKind.choices)
    sha256 = models.CharField(max_length=64)
    storage_key = models.CharField(max_length=500)
    # Images: the stored image's size, so pages reserve its box before it loads.
    width = models.PositiveIntegerField(null=True, blank=True)
    height = models.PositiveIntegerField(null=True, blank=True)
    thumbnail_key = models.CharField(max_length=500, blank=True, default="")
    thumbnail_width = models.PositiveIntegerField(null=True, blank=True)
    thumbnail_height = models.PositiveIntegerField(null=True, blank=True)
    preview_state = models.CharField(
        max_length=20, choices=PreviewState.choices, default=PreviewState.NONE
    )
    # Rendered pages, in order: [{"key": …, "width": …, "height": …}, …].
    preview_pages = models.JSONField(default=list, blank=True)
    # Pages in the document (the preview renders the first few).
    page_count = models.PositiveIntegerField(default=0)
    preview_error = models.CharField(max_length=200, blank=True, default="")
    # Text found in the document or file, kept for search and the excerpt.
    extracted_text = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "messaging_attachment"
        ordering = ["position", "created_at"]
        indexes = [
            # The daily quota sums one uploader's recent bytes.
            models.Index(fields=["uploader", "created_at"], name="attachment_uploader_day"),
            # The purge finds unsent uploads by age.
            models.Index(
                fields=["created_at"],
                condition=models.Q(message__isnull=True),
                name="attachment_unsent",
            ),
        ]
        constraints = [
            models.CheckConstraint(condition=models.Q(size__gt=0), name="attachment_not_empty"),
        ]

    def __str__(self):
        return self.name
