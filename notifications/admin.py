from django.contrib import admin

from notifications import services
from notifications.models import NotificationPreference


@admin.register(NotificationPreference)
class NotificationPreferenceAdmin(admin.ModelAdmin):
    list_display = ["user", "email_enabled", "push_enabled", "digest", "updated_at"]
    list_filter = ["email_enabled", "push_enabled", "digest"]
    search_fields = ["user__email", "user__display_name"]
    autocomplete_fields = ["user"]
    fields = ["user", "email_enabled", "push_enabled", "digest"]

    def save_model(self, request, obj, form, change):
        # Through the service, like every other write of the table.
        services.update_preferences(
            user=obj.user,
            email_enabled=obj.email_enabled,
            push_enabled=obj.push_enabled,
            digest=obj.digest,
        )

    def has_delete_permission(self, request, obj=None):
        return False  # a person's preferences are changed, never removed
