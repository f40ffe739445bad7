from django.contrib import admin

from notifications.models import NotificationPreference


@admin.register(NotificationPreference)
class NotificationPreferenceAdmin(admin.ModelAdmin):
    list_display = ["user", "email_enabled", "push_enabled", "digest", "updated_at"]
    list_filter = ["email_enabled", "push_enabled", "digest"]
    search_fields = ["user__email", "user__display_name"]
    autocomplete_fields = ["user"]
