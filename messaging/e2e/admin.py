"""End-to-end encryption in the Django admin: devices and encrypted
conversations, read-only metadata (whose device, which status, which key
version). Public keys are shown, as every contact of the person sees them;
envelopes and recovery backups are not listed: nothing to do with them here."""

from django.contrib import admin

from messaging.admin_mixins import ReadOnlyAdmin
from messaging.e2e.models import Device, EncryptedConversation


@admin.register(Device)
class DeviceAdmin(ReadOnlyAdmin, admin.ModelAdmin):
    list_display = ["created_at", "user", "kind", "name", "status", "approved_at", "revoked_at"]
    list_filter = ["kind", "status"]
    search_fields = ["user__email", "user__display_name", "name", "id"]
    list_select_related = ["user"]
    date_hierarchy = "created_at"
    fields = (
        "id",
        "user",
        "kind",
        "name",
        "status",
        "ecdh_public",
        "signing_public",
        "approved_by",
        "created_at",
        "approved_at",
        "revoked_at",
    )
    readonly_fields = fields


@admin.register(EncryptedConversation)
class EncryptedConversationAdmin(ReadOnlyAdmin, admin.ModelAdmin):
    list_display = ["conversation", "key_version", "rotation_required", "rotated_at"]
    list_filter = ["rotation_required"]
    search_fields = ["conversation__id", "conversation__title"]
    list_select_related = ["conversation"]
    fields = ("conversation", "key_version", "rotation_required", "created_at", "rotated_at")
    readonly_fields = fields
