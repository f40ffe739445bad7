"""Reactions, pins and link previews in the Django admin, for moderators
(``ModeratorsOnly``, as the moderation lists): read-only lists whose
actions go through the services with a note, like the moderation queue's
(``note_page``, ``each_row``), so every removal is audited and announced.

These lists name messages of any conversation, so they show which message
(``message_reference``: its place and sender), never what it says: a
moderator reads it on the audited review page the reference links to."""

from django.contrib import admin
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from messaging.admin_mixins import ReadOnlyAdmin
from messaging.moderation.admin import (
    ModeratorsOnly,
    NoteForm,
    Outcome,
    each_row,
    message_label,
    message_reference,
    note_page,
)
from messaging.threads.models import LinkPreview, Pin, Reaction
from messaging.threads.services import pins, reactions


@admin.register(Reaction)
class ReactionAdmin(ModeratorsOnly, ReadOnlyAdmin, admin.ModelAdmin):
    list_display = ["created_at", "emoji", "user", "which_message", "conversation"]
    list_filter = ["created_at", "emoji", "message__conversation__type"]
    search_fields = ["emoji", "user__email", "user__display_name", "message__id"]
    list_select_related = ["user", "message__sender", "message__conversation"]
    date_hierarchy = "created_at"
    actions = ["remove_reactions"]

    @admin.display(description=gettext_lazy("message"))
    def which_message(self, obj):
        return message_reference(obj.message)

    @admin.display(description=gettext_lazy("conversation"))
    def conversation(self, obj):
        return obj.message.conversation

    @admin.action(description=gettext_lazy("Remove selected reactions"), permissions=["moderate"])
    def remove_reactions(self, request, queryset):
        selected = list(queryset.select_related("user", "message__sender"))

        def perform(data: dict) -> Outcome:
            return each_row(
                selected,
                lambda reaction: reactions.remove_reaction_as_moderator(
                    moderator=request.user, reaction_id=reaction.pk, note=data["note"]
                ),
                str,
            )

        return note_page(
            self,
            request,
            action="remove_reactions",
            title=_("Remove the reactions"),
            form_class=NoteForm,
            selected=[(r.pk, r, message_label(r.message)) for r in selected],
            perform=perform,
        )


@admin.register(Pin)
class PinAdmin(ModeratorsOnly, ReadOnlyAdmin, admin.ModelAdmin):
    list_display = ["pinned_at", "which_message", "conversation", "pinned_by"]
    list_filter = ["pinned_at", "conversation__type"]
    search_fields = ["pinned_by__email", "pinned_by__display_name", "message__id"]
    list_select_related = ["message__sender", "conversation", "pinned_by"]
    date_hierarchy = "pinned_at"
    actions = ["unpin"]

    @admin.display(description=gettext_lazy("message"))
    def which_message(self, obj):
        return message_reference(obj.message)

    @admin.action(description=gettext_lazy("Unpin selected messages"), permissions=["moderate"])
    def unpin(self, request, queryset):
        selected = list(queryset.select_related("message__sender"))

        def perform(data: dict) -> Outcome:
            return each_row(
                selected,
                lambda pin: pins.unpin_as_moderator(
                    moderator=request.user, message_id=pin.message_id, note=data["note"]
                ),
                str,
            )

        return note_page(
            self,
            request,
            action="unpin",
            title=_("Unpin the messages"),
            form_class=NoteForm,
            selected=[(p.pk, p, message_label(p.message)) for p in selected],
            perform=perform,
        )


@admin.register(LinkPreview)
class LinkPreviewAdmin(ModeratorsOnly, ReadOnlyAdmin, admin.ModelAdmin):
    """Read only: the sender removes a card (the link previews API)."""

    list_display = ["created_at", "url", "state", "which_message", "fetched_at"]
    list_filter = ["state", "created_at"]
    search_fields = ["url", "message__id"]
    list_select_related = ["message__sender"]
    # The card's words are the page's, chosen by whoever shared the link:
    # read with the message, on the review page.
    exclude = ["title", "description", "site_name", "image_name"]
    date_hierarchy = "created_at"

    @admin.display(description=gettext_lazy("message"))
    def which_message(self, obj):
        return message_reference(obj.message)
