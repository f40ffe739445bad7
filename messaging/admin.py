from django.contrib import admin, messages
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from messaging import policy, services
from messaging.admin_mixins import ReadOnlyAdmin
from messaging.e2e import messages as e2e_messages
from messaging.errors import MessagingError
from messaging.models import (
    Conversation,
    ConversationParticipant,
    Message,
    MessageStatus,
    UserPresence,
)
from messaging.moderation.admin import NoteForm, Outcome, each_row, excerpt, note_page
from messaging.moderation.services import actions

PARTICIPANT_FIELDS = ("user", "role", "joined_at", "left_at", "last_read_seq", "last_delivered_seq")


class ParticipantInline(ReadOnlyAdmin, admin.TabularInline):
    model = ConversationParticipant
    extra = 0
    fields = PARTICIPANT_FIELDS
    readonly_fields = PARTICIPANT_FIELDS


@admin.register(Conversation)
class ConversationAdmin(ReadOnlyAdmin, admin.ModelAdmin):
    list_display = ["__str__", "type", "last_seq", "last_message_at", "archived_at", "created_by"]
    list_filter = ["type", ("archived_at", admin.EmptyFieldListFilter), "created_at"]
    search_fields = ["id", "title", "participants__user__email", "participants__user__display_name"]
    readonly_fields = [
        "id",
        "last_seq",
        "last_message_at",
        "created_at",
        "updated_at",
        "direct_key",
        "archived_at",
    ]
    list_select_related = ["created_by"]
    inlines = [ParticipantInline]
    actions = ["archive", "unarchive"]
    date_hierarchy = "created_at"

    @admin.action(
        description=gettext_lazy("Archive the selected conversations"), permissions=["archive"]
    )
    def archive(self, request, queryset):
        self._set_archived(request, queryset, archived=True)

    @admin.action(
        description=gettext_lazy("Unarchive the selected conversations"), permissions=["archive"]
    )
    def unarchive(self, request, queryset):
        self._set_archived(request, queryset, archived=False)

    def has_archive_permission(self, request):
        return request.user.has_perm("messaging.change_conversation")

    def _set_archived(self, request, queryset, *, archived):
        done = 0
        for conversation in queryset:
            try:
                services.set_archived(
                    actor=request.user, conversation_id=conversation.pk, archived=archived
                )
                done += 1
            except MessagingError as error:
                self.message_user(request, f"{conversation}: {error.message}", messages.ERROR)
        self.message_user(
            request,
            ngettext("%(count)s conversation updated.", "%(count)s conversations updated.", done)
            % {"count": done},
        )


@admin.register(ConversationParticipant)
class ConversationParticipantAdmin(ReadOnlyAdmin, admin.ModelAdmin):
    list_display = ["user", "conversation", "role", "joined_at", "left_at", "last_read_seq"]
    list_filter = ["role", ("left_at", admin.EmptyFieldListFilter)]
    search_fields = ["user__email", "user__display_name", "conversation__title"]
    list_select_related = ["user", "conversation"]


@admin.register(Message)
class MessageAdmin(admin.ModelAdmin):
    list_display = [
        "seq",
        "conversation",
        "sender",
        "message_type",
        "short_content",
        "sent_at",
        "edited_at",
        "deleted_at",
    ]
    list_filter = ["message_type", ("deleted_at", admin.EmptyFieldListFilter), "sent_at"]
    search_fields = ["content", "sender__email", "sender__display_name", "id"]
    list_select_related = ["sender", "conversation"]
    readonly_fields = [
        "id",
        "conversation",
        "sender",
        "seq",
        "client_id",
        "sent_at",
        "edited_at",
        "deleted_at",
        "message_type",
        "content",
        "file_url",
        "shown_metadata",
        "encryption",
    ]
    # Those only: ``metadata`` itself would show an encrypted message's ciphertext.
    fields = tuple(readonly_fields)
    actions = ["delete_for_moderation"]
    date_hierarchy = "sent_at"

    def has_add_permission(self, request):
        return False  # messages are sent through services, which take seq and audit

    def has_change_permission(self, request, obj=None):
        return False  # edits are the author's, through the service; moderation below

    def has_delete_permission(self, request, obj=None):
        return False  # deletion is the moderation action below: soft, audited, announced

    @admin.display(description=gettext_lazy("content"))
    def short_content(self, obj):
        if obj.deleted_at:
            return format_html("<em>{}</em>", "deleted")
        if e2e_messages.is_encrypted(obj):
            return format_html("<em>{}</em>", _("Encrypted message"))
        return obj.content[:80]

    @admin.display(description=gettext_lazy("metadata"))
    def shown_metadata(self, obj):
        # An encrypted message's ciphertext is no one's to read here: its
        # facts are under "end-to-end encryption".
        return e2e_messages.metadata_without_e2e(obj.metadata)

    @admin.display(description=gettext_lazy("end-to-end encryption"))
    def encryption(self, obj):
        """Metadata only: the key version, the sending device, the size."""
        if not e2e_messages.is_encrypted(obj):
            return "-"
        facts = e2e_messages.summary(obj)
        if facts["key_version"] is None:
            return _("Encrypted message")
        return format_html(
            "key version {} · device {} · {} characters of ciphertext (base64)",
            facts["key_version"],
            facts["device_id"],
            facts["ciphertext_chars"],
        )

    def has_moderate_permission(self, request):
        return request.user.has_perm("messaging.delete_message") and policy.may_moderate(
            request.user
        )

    @admin.action(
        description=gettext_lazy("Delete the selected messages (moderation)"),
        permissions=["moderate"],
    )
    def delete_for_moderation(self, request, queryset):
        """Like the queue's "Delete": a note first, then the actions service."""
        selected = list(queryset)

        def perform(data: dict) -> Outcome:
            return each_row(
                selected,
                lambda message: actions.delete_message(
                    moderator=request.user, message_id=message.pk, note=data["note"]
                ),
                lambda message: f"#{message.seq}",
            )

        return note_page(
            self,
            request,
            action="delete_for_moderation",
            title=_("Delete the messages"),
            form_class=NoteForm,
            selected=[(m.pk, f"#{m.seq}", excerpt(m)) for m in selected],
            perform=perform,
        )


@admin.register(MessageStatus)
class MessageStatusAdmin(ReadOnlyAdmin, admin.ModelAdmin):
    list_display = ["message", "user", "status", "timestamp"]
    list_filter = ["status"]
    search_fields = ["user__email", "message__id"]
    list_select_related = ["user", "message"]
    raw_id_fields = ["message", "user"]


@admin.register(UserPresence)
class UserPresenceAdmin(ReadOnlyAdmin, admin.ModelAdmin):
    """Written by the presence service as sockets come and go."""

    list_display = ["user", "status", "last_seen", "updated_at"]
    list_filter = ["status"]
    search_fields = ["user__email", "user__display_name"]
    list_select_related = ["user"]


# The files package's admin lives beside its code; Django's autodiscovery
# finds an app's admin through this module.
from messaging import audit_admin  # noqa: E402, F401
from messaging.e2e import admin as e2e_admin  # noqa: E402, F401
from messaging.files import admin as files_admin  # noqa: E402, F401
from messaging.integrations.bots import admin as bots_admin  # noqa: E402, F401
from messaging.integrations.meetings import admin as meetings_admin  # noqa: E402, F401
from messaging.integrations.reminders import admin as reminders_admin  # noqa: E402, F401
from messaging.integrations.scheduling import admin as scheduling_admin  # noqa: E402, F401
from messaging.integrations.webhooks import admin as webhooks_admin  # noqa: E402, F401
from messaging.moderation import admin as moderation_admin  # noqa: E402, F401
from messaging.moderation.filtering import admin as filtering_admin  # noqa: E402, F401
from messaging.support import admin as support_admin  # noqa: E402, F401
from messaging.threads import admin as threads_admin  # noqa: E402, F401
