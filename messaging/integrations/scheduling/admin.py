"""Scheduled messages in the Django admin: listed for support and
operations, read-only (their authors edit and cancel them; the sweep sends
them)."""

from django.contrib import admin

from messaging.admin_mixins import ReadOnlyAdmin
from messaging.integrations.models import ScheduledMessage


@admin.register(ScheduledMessage)
class ScheduledMessageAdmin(ReadOnlyAdmin, admin.ModelAdmin):
    list_display = ["id", "author", "conversation", "send_at", "time_zone", "state", "failure"]
    list_filter = ["state"]
    search_fields = ["author__email", "author__display_name", "id"]
    list_select_related = ["author", "conversation"]
    date_hierarchy = "send_at"
    ordering = ["-send_at"]
