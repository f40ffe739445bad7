"""API views for reactions, pins and saved messages, and the emoji picker's
list (docs/api.md, "Reactions", "Pins and saved messages"). Thin, as
``messaging.api.views``: parse, one service or selector call, the socket's
JSON shapes. Writes spend from the same per-user bucket as sends."""

from django.urls import path
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response

from messaging import events, limits
from messaging.api import serializers as s
from messaging.api.views import ParleyAPIView, _errors, _valid
from messaging.realtime import ratelimit
from messaging.threads import emoji as emoji_table
from messaging.threads import payloads
from messaging.threads.emoji import clean_emoji
from messaging.threads.selectors import pins as pin_selectors
from messaging.threads.selectors import reactions as reaction_selectors
from messaging.threads.selectors import saved as saved_selectors
from messaging.threads.services import pins, reactions, saved

# The picker's list changes only with a release (the emoji package's table).
EMOJI_CACHE_CONTROL = "private, max-age=86400"

_EMOJI_PATH = OpenApiParameter(
    "emoji",
    str,
    OpenApiParameter.PATH,
    description="One emoji, percent-encoded (UTF-8), e.g. %F0%9F%91%8D for 👍.",
)


def _iso(value) -> str | None:
    return value.isoformat() if value else None


# --- Shapes -----------------------------------------------------------------------


class EmojiOut(serializers.Serializer):
    emoji = serializers.CharField()
    name = serializers.CharField(help_text="English name, e.g. 'thumbs up'.")
    keywords = serializers.ListField(child=serializers.CharField(), help_text="Other names.")


class EmojiListOut(serializers.Serializer):
    emoji = EmojiOut(many=True)


class ReactionsOut(serializers.Serializer):
    reactions = s.ReactionOut(
        many=True, help_text="The message's reactions now, each emoji in the order it first came."
    )


class PinAnswerOut(serializers.Serializer):
    pinned = s.PinnedOut()


class PinListOut(serializers.Serializer):
    pins = s.MessageOut(many=True, help_text="Newest pin first; each with `pinned`.")
    may_pin = serializers.BooleanField(help_text="Whether you may pin and unpin here now.")


class SavedOut(serializers.Serializer):
    saved_at = s.DateTimeOut()


class SavedItemOut(serializers.Serializer):
    saved_at = s.DateTimeOut()
    message = s.MessageOut()


class SavedListOut(serializers.Serializer):
    saved = SavedItemOut(many=True, help_text="Newest save first.")
    has_more = serializers.BooleanField()


class SavedListQuery(s.QuerySerializer):
    conversation_id = serializers.UUIDField(
        required=False, help_text="Only this conversation's (you must be a member)."
    )
    before = serializers.DateTimeField(
        required=False,
        help_text="The saved_at of the last item you have: the next page (older saves).",
    )
    limit = s.PageSizeField(required=False, help_text="Page size (default 50).")


# --- Views ------------------------------------------------------------------------


class EmojiListView(ParleyAPIView):
    @extend_schema(
        operation_id="emoji_list",
        responses={200: EmojiListOut, **_errors(401)},
        description="The emoji a reaction may be, for a picker (fully-qualified, untoned; "
        "toned and other forms of these are accepted too). Cacheable for a day.",
    )
    def get(self, request):
        response = Response({"emoji": emoji_table.catalog()})
        response["Cache-Control"] = EMOJI_CACHE_CONTROL
        return response


def _reactions_now(request, message_id) -> Response:
    found = reaction_selectors.message_reactions(user=request.user, message_id=message_id)
    return Response({"reactions": payloads.reactions_payload(found, events.user_payload)})


class ReactionView(ParleyAPIView):
    @extend_schema(
        operation_id="reactions_add",
        request=None,
        parameters=[_EMOJI_PATH],
        responses={200: ReactionsOut, **_errors(400, 401, 403, 404, 409, 429)},
        description="Add your reaction (repeating it is harmless). 403: forbidden, muted or "
        "blocked; 409: archived, hidden or too_many_reactions.",
    )
    def put(self, request, message_id, emoji):
        emoji = clean_emoji(emoji)
        ratelimit.spend_send(request.user)
        reactions.add_reaction(user=request.user, message_id=message_id, emoji=emoji)
        return _reactions_now(request, message_id)

    @extend_schema(
        operation_id="reactions_remove",
        parameters=[_EMOJI_PATH],
        responses={200: ReactionsOut, **_errors(400, 401, 403, 404, 409, 429)},
        description="Take your reaction back (harmless when it is not there). 409: hidden.",
    )
    def delete(self, request, message_id, emoji):
        emoji = clean_emoji(emoji)
        ratelimit.spend_send(request.user)
        reactions.remove_reaction(user=request.user, message_id=message_id, emoji=emoji)
        return _reactions_now(request, message_id)


class PinView(ParleyAPIView):
    @extend_schema(
        operation_id="pins_add",
        request=None,
        responses={200: PinAnswerOut, **_errors(401, 403, 404, 409, 429)},
        description="Pin the message to its conversation (repeating returns the pin). "
        "409: archived, hidden or too_many_pins.",
    )
    def put(self, request, message_id):
        ratelimit.spend_send(request.user)
        pin = pins.pin_message(user=request.user, message_id=message_id)
        return Response({"pinned": payloads.pin_payload(pin, events.user_payload, _iso)})

    @extend_schema(
        operation_id="pins_remove",
        responses={204: None, **_errors(401, 403, 404, 409, 429)},
        description="Unpin (harmless when it is not pinned).",
    )
    def delete(self, request, message_id):
        ratelimit.spend_send(request.user)
        pins.unpin_message(user=request.user, message_id=message_id)
        return Response(status=status.HTTP_204_NO_CONTENT)


class ConversationPinsView(ParleyAPIView):
    @extend_schema(
        operation_id="pins_list",
        responses={200: PinListOut, **_errors(401, 403, 404)},
        description="The conversation's pinned messages, newest pin first; deleted and "
        "hidden ones are left out.",
    )
    def get(self, request, conversation_id):
        found = pin_selectors.pinned_messages(user=request.user, conversation_id=conversation_id)
        may_pin = pin_selectors.may_pin_here(user=request.user, conversation_id=conversation_id)
        return Response({"pins": [events.message_payload(m) for m in found], "may_pin": may_pin})


class SavedListView(ParleyAPIView):
    @extend_schema(
        operation_id="saved_list",
        parameters=[SavedListQuery],
        responses={200: SavedListOut, **_errors(400, 401, 403, 404)},
        description="Your saved messages, newest save first, from conversations you are "
        "still in; deleted and hidden ones are left out.",
    )
    def get(self, request):
        query = _valid(SavedListQuery, request.query_params)
        page = saved_selectors.saved_page(
            user=request.user,
            conversation_id=query.get("conversation_id"),
            before=query.get("before"),
            limit=query.get("limit") or limits.history_page_size(),
        )
        return Response(
            {
                "saved": [
                    {
                        "saved_at": _iso(row.saved_at),
                        "message": events.message_payload(row.message),
                    }
                    for row in page.saved
                ],
                "has_more": page.has_more,
            }
        )


class SavedView(ParleyAPIView):
    @extend_schema(
        operation_id="saved_add",
        request=None,
        responses={200: SavedOut, **_errors(401, 403, 404, 409, 429)},
        description="Save the message for yourself (repeating is harmless). 409: hidden.",
    )
    def put(self, request, message_id):
        ratelimit.spend_send(request.user)
        row = saved.save_message(user=request.user, message_id=message_id)
        return Response({"saved_at": _iso(row.saved_at)})

    @extend_schema(
        operation_id="saved_remove",
        responses={204: None, **_errors(401, 429)},
        description="Unsave (harmless when it is not saved).",
    )
    def delete(self, request, message_id):
        ratelimit.spend_send(request.user)
        saved.unsave_message(user=request.user, message_id=message_id)
        return Response(status=status.HTTP_204_NO_CONTENT)


urlpatterns = [
    path("emoji/", EmojiListView.as_view(), name="api-emoji"),
    path(
        "messages/<uuid:message_id>/reactions/<str:emoji>/",
        ReactionView.as_view(),
        name="api-message-reaction",
    ),
    path("messages/<uuid:message_id>/pin/", PinView.as_view(), name="api-message-pin"),
    path("messages/<uuid:message_id>/saved/", SavedView.as_view(), name="api-message-saved"),
    path(
        "conversations/<uuid:conversation_id>/pins/",
        ConversationPinsView.as_view(),
        name="api-conversation-pins",
    ),
    path("saved/", SavedListView.as_view(), name="api-saved"),
]
