"""Incoming webhooks (list, revoke action) and the outgoing delivery log
in the Django admin. Rows are written only by the services."""

from django.contrib import admin, messages
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from messaging.admin_mixins import ReadOnlyAdmin
from messaging.errors import MessagingError
from messaging.integrations.models import IncomingWebhook, OutgoingDelivery
from messaging.integrations.webhooks.services import incoming


@admin.register(IncomingWebhook)
class IncomingWebhookAdmin(ReadOnlyAdmin, admin.ModelAdmin):
    list_display = [
        "name",
        "conversation",
        "created_by",
        "created_at",
        "last_used_at",
        "revoked_at",
    ]
    list_filter = ["revoked_at", "created_at"]
    search_fields = ["name", "conversation__title", "created_by__email"]
    list_select_related = ["conversation", "created_by"]
    exclude = ["token_hash"]
    actions = ["revoke_webhooks"]

    @admin.action(description=gettext_lazy("Revoke the selected webhooks"))
    def revoke_webhooks(self, request, queryset):
        done = 0
        for webhook in queryset:
            try:
                incoming.revoke_incoming_webhook(actor=request.user, webhook_id=webhook.pk)
                done += 1
            except MessagingError as error:
                self.message_user(request, f"{webhook.name}: {error}", messages.ERROR)
        self.message_user(
            request, _("Webhooks revoked: %(count)s.") % {"count": done}, messages.SUCCESS
        )


@admin.register(OutgoingDelivery)
class OutgoingDeliveryAdmin(ReadOnlyAdmin, admin.ModelAdmin):
    """The outgoing webhooks' delivery log: one row per bot and message."""

    list_display = [
        "created_at",
        "bot_name",
        "message",
        "state",
        "attempts",
        "last_status",
        "last_error",
        "delivered_at",
    ]
    list_filter = ["state", "created_at"]
    search_fields = ["bot__user__display_name", "message__id", "last_error"]
    list_select_related = ["bot__user", "message"]
    date_hierarchy = "created_at"

    @admin.display(description=gettext_lazy("bot"), ordering="bot__user__display_name")
    def bot_name(self, obj):
        return obj.bot.user.display_name
