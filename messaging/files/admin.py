"""Attachments in the Django admin: a read-only list. Files change through
the services (upload, send, discard, purge) only; their bytes are fetched
through the checked, audited endpoints, not here."""

from django.contrib import admin

from messaging.admin_mixins import ReadOnlyAdmin
from messaging.files.models import Attachment


@admin.register(Attachment)
class AttachmentAdmin(ReadOnlyAdmin, admin.ModelAdmin):
    list_display = [
        "name",
        "kind",
        "size",
        "conversation",
        "uploader",
        "preview_state",
        "created_at",
    ]
    list_filter = ["kind", "preview_state", ("message", admin.EmptyFieldListFilter), "created_at"]
    search_fields = ["id", "name", "original_name", "sha256", "uploader__email"]
    list_select_related = ["conversation", "uploader"]
    date_hierarchy = "created_at"
    # The extracted text is the file's content: not shown here.
    exclude = ["extracted_text"]

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in Attachment._meta.fields if f.name != "extracted_text"]
