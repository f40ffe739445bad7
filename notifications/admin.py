from django import forms
from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from messaging.admin_mixins import ReadOnlyAdmin
from messaging.errors import MessagingError
from notifications import services
from notifications.models import (
    ConversationMute,
    Delivery,
    Notification,
    NotificationPreference,
    PushSubscription,
)
from notifications.services import feed, push
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
        (_("Channels"), {"fields": ["email_enabled", "push_enabled", "push_show_content"]}),
        (
            _("Kinds"),
            {
                "fields": ["kinds"],
                "description": _(
                    "Each kind (direct, group, mention, support, added) to its "
                    'channels (in_app, push, email), e.g. {"group": {"push": true}}. '
                    "Kinds and channels left out take their defaults."
                ),
            },
        ),
        (
            _("Quiet hours"),
            {
                "fields": ["quiet_hours_start", "quiet_hours_end"],
                "description": _(
                    "Local times in the person's time zone (on their account); both or neither."
                ),
            },
        ),
        (_("Digest"), {"fields": ["digest", "digest_hour", "digest_weekday"]}),
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
class ConversationMuteAdmin(ReadOnlyAdmin, admin.ModelAdmin):
    """Read-only: a mute is its person's own choice, made and ended on the
    conversation page or through the API."""

    list_display = ["user", "conversation", "until", "created_at"]
    list_filter = [("until", admin.EmptyFieldListFilter)]
    search_fields = ["user__email", "user__display_name", "conversation__title"]
    list_select_related = ["user", "conversation"]
    readonly_fields = ["user", "conversation", "until", "created_at"]


@admin.register(Notification)
class NotificationAdmin(ReadOnlyAdmin, admin.ModelAdmin):
    """The in-app feed, written by the fan-out and the feed service."""

    list_display = ["user", "kind", "conversation", "created_at", "read"]
    list_filter = ["kind", ("read_at", admin.EmptyFieldListFilter), "in_app", "created_at"]
    search_fields = ["user__email", "user__display_name"]
    list_select_related = ["user", "conversation"]
    raw_id_fields = ["user", "conversation", "message", "actor"]
    readonly_fields = [
        "id",
        "user",
        "kind",
        "conversation",
        "message",
        "actor",
        "in_app",
        "data",
        "created_at",
        "read_at",
    ]
    actions = ["mark_read"]
    date_hierarchy = "created_at"

    @admin.display(description=_("read"), boolean=True, ordering="read_at")
    def read(self, obj):
        return obj.read_at is not None

    def has_mark_read_permission(self, request):
        return request.user.has_perm("notifications.change_notification")

    @admin.action(description=_("Mark the selected notifications read"), permissions=["mark_read"])
    def mark_read(self, request, queryset):
        # One by one through the service: each person's open tabs hear of it
        # (notification.read with their new unread count).
        changed = 0
        for notification in queryset.select_related("user").filter(read_at__isnull=True):
            try:
                feed.mark_read(user=notification.user, notification_id=notification.pk)
                changed += 1
            except MessagingError as error:
                self.message_user(request, f"{notification}: {error.message}", messages.ERROR)
        self.message_user(
            request,
            ngettext(
                "%(count)s notification marked read.",
                "%(count)s notifications marked read.",
                changed,
            )
            % {"count": changed},
        )


@admin.register(Delivery)
class DeliveryAdmin(ReadOnlyAdmin, admin.ModelAdmin):
    """One row per send, written before sending. A ``pending`` row older than
    a few minutes is a send that never finished (docs/operations.md); filter
    by state and sort by created to find them."""

    list_display = ["user", "channel", "key", "state", "attempts", "created_at", "finished_at"]
    list_filter = ["channel", "state", ("finished_at", admin.EmptyFieldListFilter), "created_at"]
    search_fields = ["user__email", "user__display_name", "key"]
    list_select_related = ["user"]
    readonly_fields = [
        "user",
        "channel",
        "key",
        "state",
        "attempts",
        "error",
        "created_at",
        "finished_at",
    ]
    date_hierarchy = "created_at"
    ordering = ["-created_at"]


@admin.register(PushSubscription)
class PushSubscriptionAdmin(ReadOnlyAdmin, admin.ModelAdmin):
    """A person's devices. Keys are theirs to change (by subscribing again
    from the browser); an operator may only forget a device, through the
    push service, with the action below."""

    list_display = ["user", "device_name", "short_endpoint", "created_at", "last_success_at"]
    list_filter = [("last_success_at", admin.EmptyFieldListFilter), "created_at"]
    search_fields = ["user__email", "user__display_name", "device_name", "endpoint"]
    list_select_related = ["user"]
    readonly_fields = [
        "id",
        "user",
        "device_name",
        "endpoint",
        "created_at",
        "last_success_at",
    ]
    # The encryption keys stay off the page: nobody needs to read them.
    exclude = ["p256dh", "auth"]
    actions = ["forget_devices"]

    @admin.display(description=_("endpoint"))
    def short_endpoint(self, obj):
        return obj.endpoint if len(obj.endpoint) <= 60 else f"{obj.endpoint[:57]}..."

    def has_forget_permission(self, request):
        return request.user.has_perm("notifications.delete_pushsubscription")

    @admin.action(description=_("Forget the selected devices"), permissions=["forget"])
    def forget_devices(self, request, queryset):
        forgotten = 0
        for subscription in queryset.select_related("user"):
            try:
                push.unsubscribe(user=subscription.user, subscription_id=subscription.pk)
                forgotten += 1
            except MessagingError as error:
                self.message_user(request, f"{subscription}: {error.message}", messages.ERROR)
        self.message_user(
            request,
            ngettext("%(count)s device forgotten.", "%(count)s devices forgotten.", forgotten)
            % {"count": forgotten},
        )
