"""Bots in the Django admin: the list (display name, owner, kind, URL,
deliveries), a change page for an assistant's instructions and a webhook
bot's URL, and two actions; each write goes through the services, so each
is audited: rotate the token (the new one is shown once, in the page's
message) and deactivate."""

from django import forms
from django.contrib import admin, messages
from django.db.models import Count
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from messaging.admin_mixins import ReadOnlyAdmin
from messaging.errors import MessagingError
from messaging.integrations.bots import services
from messaging.integrations.models import Bot, BotKind
from messaging.integrations.webhooks import targets


class BotForm(forms.ModelForm):
    """The two things an admin edits on a bot's page: an assistant's
    instructions, a webhook bot's URL (checked as the API checks it)."""

    class Meta:
        model = Bot
        fields = ["instructions", "outgoing_url"]

    def clean_outgoing_url(self):
        url = self.cleaned_data.get("outgoing_url") or ""
        if self.instance.kind != BotKind.WEBHOOK:
            return self.instance.outgoing_url
        try:
            return targets.check_outgoing_url(url)
        except MessagingError as error:
            raise forms.ValidationError(error.message, code=error.code) from None


@admin.register(Bot)
class BotAdmin(ReadOnlyAdmin, admin.ModelAdmin):
    list_display = ["display_name", "owner", "kind", "outgoing_url", "deliveries", "active"]
    list_filter = ["kind", "user__is_active"]
    search_fields = ["user__display_name", "owner__email", "owner__display_name", "outgoing_url"]
    list_select_related = ["user", "owner"]
    form = BotForm
    fields = ["user", "owner", "kind", "instructions", "outgoing_url", "created_at"]
    readonly_fields = ["user", "owner", "kind", "created_at"]
    actions = ["rotate_tokens", "deactivate_bots"]

    def has_change_permission(self, request, obj=None):
        # Instructions are an admin's to write (services.update_bot).
        return bool(request.user.is_active and request.user.is_platform_admin)

    def save_model(self, request, obj, form, change):
        services.update_bot(
            actor=request.user,
            bot=Bot.objects.select_related("user").get(pk=obj.pk),
            instructions=form.cleaned_data["instructions"],
            outgoing_url=form.cleaned_data["outgoing_url"] if obj.kind == BotKind.WEBHOOK else None,
        )

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
