"""Bots in the Django admin: the list (display name, owner, kind, URL,
deliveries) and two actions through the services, so each is audited:
rotate the token (the new one is shown once, in the page's message) and
deactivate. Rows are written only by the services."""

from django.contrib import admin, messages
from django.db.models import Count
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from messaging.admin_mixins import ReadOnlyAdmin
from messaging.errors import MessagingError
from messaging.integrations.bots import services
from messaging.integrations.models import Bot


@admin.register(Bot)
class BotAdmin(ReadOnlyAdmin, admin.ModelAdmin):
    list_display = ["display_name", "owner", "kind", "outgoing_url", "deliveries", "active"]
    list_filter = ["kind", "user__is_active"]
    search_fields = ["user__display_name", "owner__email", "owner__display_name", "outgoing_url"]
    list_select_related = ["user", "owner"]
    exclude = ["signing_secret"]
    actions = ["rotate_tokens", "deactivate_bots"]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(delivery_count=Count("deliveries"))

    @admin.display(description=gettext_lazy("display name"), ordering="user__display_name")
    def display_name(self, obj):
        return obj.user.display_name

    @admin.display(description=gettext_lazy("deliveries"), ordering="delivery_count")
    def deliveries(self, obj):
        return obj.delivery_count

    @admin.display(description=gettext_lazy("active"), boolean=True)
    def active(self, obj):
        return obj.user.is_active

    @admin.action(description=gettext_lazy("Rotate the API tokens of the selected bots"))
    def rotate_tokens(self, request, queryset):
        for bot in queryset.select_related("user"):
            try:
                key = services.rotate_token(actor=request.user, bot=bot)
            except MessagingError as error:
                self.message_user(request, f"{bot.user.display_name}: {error}", messages.ERROR)
                continue
            self.message_user(
                request,
                _("%(name)s: new token %(token)s (shown this once).")
                % {"name": bot.user.display_name, "token": key},
                messages.SUCCESS,
            )

    @admin.action(description=gettext_lazy("Deactivate the selected bots"))
    def deactivate_bots(self, request, queryset):
        done = 0
        for bot in queryset.select_related("user"):
            try:
                services.deactivate_bot(actor=request.user, bot=bot)
                done += 1
            except MessagingError as error:
                self.message_user(request, f"{bot.user.display_name}: {error}", messages.ERROR)
        self.message_user(
            request, _("Bots deactivated: %(count)s.") % {"count": done}, messages.SUCCESS
        )
