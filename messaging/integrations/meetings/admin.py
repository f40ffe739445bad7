"""Video calls in the Django admin: a read-only list (the services alone
write them; the room name is hidden, as knowing it may be enough to join)."""

from django.contrib import admin

from messaging.admin_mixins import ReadOnlyAdmin
from messaging.integrations.models import Meeting


@admin.register(Meeting)
class MeetingAdmin(ReadOnlyAdmin, admin.ModelAdmin):
    list_display = ["starts_at", "title", "conversation", "started_by", "provider"]
    list_filter = ["provider", "starts_at"]
    search_fields = ["title", "started_by__email", "started_by__display_name", "id"]
    list_select_related = ["conversation", "started_by"]
    date_hierarchy = "starts_at"
    fields = (
        "id",
        "conversation",
        "message",
        "started_by",
        "provider",
        "title",
        "starts_at",
        "duration_minutes",
        "created_at",
    )
    readonly_fields = fields
