from django import forms
from django.contrib import admin

from notifications import services
from notifications.models import ConversationMute, NotificationPreference
from notifications.services.preferences import check_preferences

_CHECKED = [
    "email_enabled",
    "push_enabled",
    "push_show_content",
    "kinds",
    "digest",
    "digest_hour",
    "digest_weekday",
]


class NotificationPreferenceForm(forms.ModelForm):
    """Refusals of ``update_preferences`` (an unknown kind or channel in
    the map, quiet hours that start when they end) show next to their field
    instead of failing the save."""

    class Meta:
        model = NotificationPreference
        fields = ["user", *_CHECKED, "quiet_hours_start", "quiet_hours_end"]

    def clean(self):
        cleaned = super().clean() or {}
        if self.errors:
            return cleaned
        try:
            check_preferences(
                **{name: cleaned.get(name) for name in _CHECKED},
                quiet_hours_start=cleaned.get("quiet_hours_start"),
                quiet_hours_end=cleaned.get("quiet_hours_end"),
            )
        except forms.ValidationError as error:
            self.add_error(None, error)
        return cleaned


@admin.register(NotificationPreference)
class NotificationPreferenceAdmin(admin.ModelAdmin):
    form = NotificationPreferenceForm
    list_display = ["user", "email_enabled", "push_enabled", "digest", "updated_at"]
    list_filter = ["email_enabled", "push_enabled", "digest"]
    search_fields = ["user__email", "user__display_name"]
    autocomplete_fields = ["user"]
    readonly_fields = ["updated_at"]
    fieldsets = [
        (None, {"fields": ["user"]}),
        ("Channels", {"fields": ["email_enabled", "push_enabled", "push_show_content"]}),
        (
            "Kinds",
            {
                "fields": ["kinds"],
                "description": "Each kind (direct, group, mention, support, added) to its "
                'channels (in_app, push, email), e.g. {"group": {"push": true}}. '
                "Kinds and channels left out take their defaults.",
            },
        ),
        (
            "Quiet hours",
            {
                "fields": ["quiet_hours_start", "quiet_hours_end"],
                "description": "Local times in the person's time zone (on their account); "
                "both or neither.",
            },
        ),
        ("Digest", {"fields": ["digest", "digest_hour", "digest_weekday"]}),
        (None, {"fields": ["updated_at"]}),
    ]

    def save_model(self, request, obj, form, change):
        # Through the service, like every other write of the table.
        stored = services.update_preferences(
            user=obj.user,
            email_enabled=obj.email_enabled,
            push_enabled=obj.push_enabled,
            push_show_content=obj.push_show_content,
            kinds=obj.kinds,
            quiet_hours_start=obj.quiet_hours_start,
            quiet_hours_end=obj.quiet_hours_end,
            digest=obj.digest,
            digest_hour=obj.digest_hour,
            digest_weekday=obj.digest_weekday,
        )
        obj.updated_at = stored.updated_at
        obj._state.adding = False

    def has_delete_permission(self, request, obj=None):
        return False  # a person's preferences are changed, never removed


@admin.register(ConversationMute)
class ConversationMuteAdmin(admin.ModelAdmin):
    """Read-only: a mute is its person's own choice, made and ended on the
    conversation page or through the API."""

    list_display = ["user", "conversation", "until", "created_at"]
    list_filter = [("until", admin.EmptyFieldListFilter)]
    search_fields = ["user__email", "user__display_name", "conversation__title"]
    list_select_related = ["user", "conversation"]
    readonly_fields = ["user", "conversation", "until", "created_at"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
