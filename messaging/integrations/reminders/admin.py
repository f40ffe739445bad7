"""Admin: reminders and calendar feeds, to look at (support questions);
people set and cancel their reminders themselves, so the admin changes
nothing, and a feed's token is never shown."""

from django.contrib import admin

from messaging.integrations.models import CalendarFeed, Reminder


class _ReadOnly(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Reminder)
class ReminderAdmin(_ReadOnly):
    list_display = ["id", "user", "state", "remind_at", "fired_at", "created_at"]
    list_filter = ["state"]
    search_fields = ["user__email", "user__display_name", "id"]
    list_select_related = ["user"]
    date_hierarchy = "remind_at"
    fields = ["id", "user", "message", "state", "remind_at", "fired_at", "note", "created_at"]
    raw_id_fields = ["message"]


@admin.register(CalendarFeed)
class CalendarFeedAdmin(_ReadOnly):
    list_display = ["user", "created_at", "rotated_at"]
    search_fields = ["user__email", "user__display_name"]
    list_select_related = ["user"]
    fields = ["user", "created_at", "rotated_at"]
