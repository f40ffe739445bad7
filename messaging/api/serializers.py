"""Input validation, and output in the socket's JSON shapes.

Input fields parse with the functions the socket uses
(``messaging.validation``), so a value is refused the same way, with the
same code (``invalid``, ``too_long``), over HTTP and over the socket; the
services then trust what they are given.

Output serializers declare their fields for the OpenAPI schema, but render
through the payload builders in ``messaging.events``, so a message or a
conversation looks the same over HTTP as in a socket frame.
"""

from collections.abc import Callable

from django.utils.functional import lazy
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.fields import empty

from messaging import events, limits, validation
from messaging.errors import InvalidInput
from messaging.models import ConversationType, MessageType, ParticipantRole, PresenceStatus

MAX_PRESENCE_USERS = 200


# --- Input --------------------------------------------------------------------


def _parsed(parse: Callable, *args, **kwargs):
    """``parse(*args, **kwargs)``, its InvalidInput as DRF's ValidationError
    with the same code (``messaging.api.errors`` reports it)."""
    try:
        return parse(*args, **kwargs)
    except InvalidInput as error:
        raise serializers.ValidationError(error.message, code=error.code) from None


class TextField(serializers.CharField):
    """A CharField that takes only strings, as the socket does: DRF's would
    turn ``5`` into ``"5"``."""

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class _CleanedTextField(serializers.CharField):
    """Text cleaned by one ``messaging.validation`` function, blank and all
    (DRF's own blank and whitespace handling would run before it)."""

    clean: Callable[[object], str]

    def run_validation(self, data=empty):
        is_empty, data = self.validate_empty_values(data)
        if is_empty:
            return data
        return _parsed(type(self).clean, data)


class ContentField(_CleanedTextField):
    """A message's text: ``validation.clean_content``."""

    clean = staticmethod(validation.clean_content)


class TitleField(_CleanedTextField):
    """A conversation's title: ``validation.clean_title``."""

    clean = staticmethod(validation.clean_title)


class UUIDField(serializers.UUIDField):
    """A UUID as ``validation.parse_uuid`` reads one (text, not a number)."""

    def to_internal_value(self, data):
        what = self.field_name or getattr(self.parent, "field_name", "") or "id"
        return _parsed(validation.parse_uuid, data, what=what)


@extend_schema_field({"type": "integer", "minimum": 0})
class SeqField(serializers.IntegerField):
    """A seq: ``validation.clean_seq``, after a query string's text is read
    as a number."""

    def to_internal_value(self, data):
        return _parsed(validation.clean_seq, super().to_internal_value(data), what=self.field_name)


@extend_schema_field({"type": "integer", "minimum": 1})
class PageSizeField(serializers.IntegerField):
    """A history page size: ``validation.clean_page_size`` (capped at the maximum)."""

    def to_internal_value(self, data):
        return _parsed(validation.clean_page_size, super().to_internal_value(data))


def _at_most_group_size(ids: list) -> list:
    if len(ids) > limits.max_group_members():
        raise serializers.ValidationError(
            f"A conversation has at most {limits.max_group_members()} members."
        )
    return ids


class ConversationListQuery(serializers.Serializer):
    type = serializers.ChoiceField(choices=ConversationType.choices, required=False)
    archived = serializers.BooleanField(
        default=False, help_text="true lists archived conversations instead of active ones."
    )


class ConversationCreateIn(serializers.Serializer):
    type = serializers.ChoiceField(choices=ConversationType.choices)
    participant_ids = serializers.ListField(
        child=UUIDField(),
        required=False,
        default=list,
        help_text="The other people: one for direct; none for your own support conversation "
        "(an admin names the person it is for).",
    )
    title = TitleField(
        required=False,
        default="",
        help_text="Needed for a group; none for a direct conversation.",
    )

    def validate_participant_ids(self, value):
        return _at_most_group_size(value)


class ConversationUpdateIn(serializers.Serializer):
    title = TitleField()


class ParticipantsAddIn(serializers.Serializer):
    user_ids = serializers.ListField(child=UUIDField(), min_length=1)

    def validate_user_ids(self, value):
        return _at_most_group_size(value)


def _page_size_help() -> str:
    return (
        f"Page size, default {limits.history_page_size()}, "
        f"at most {limits.history_max_page_size()}."
    )


class HistoryQuery(serializers.Serializer):
    after_seq = SeqField(required=False, help_text="Page forward: messages after this seq.")
    before_seq = SeqField(required=False, help_text="Page back: messages before this seq.")
    limit = PageSizeField(required=False, help_text=lazy(_page_size_help, str)())

    def validate(self, attrs):
        _parsed(validation.clean_history_cursors, attrs.get("after_seq"), attrs.get("before_seq"))
        return attrs


class MessageSendIn(serializers.Serializer):
    client_id = UUIDField(
        help_text="A UUID the client makes for this message; sending again with it is "
        "answered with the stored message."
    )
    content = ContentField()


class MessageEditIn(serializers.Serializer):
    content = ContentField()


class ReadIn(serializers.Serializer):
    seq = SeqField(help_text="Everything up to this seq is read (capped at the latest).")


class PresenceQuery(serializers.Serializer):
    user_ids = serializers.CharField(help_text="Comma-separated user ids, at most 200.")

    def validate_user_ids(self, value):
        ids = [part.strip() for part in value.split(",") if part.strip()]
        if not ids:
            raise serializers.ValidationError("Name at least one user id.")
        if len(ids) > MAX_PRESENCE_USERS:
            raise serializers.ValidationError(f"At most {MAX_PRESENCE_USERS} user ids.")
        return _parsed(validation.parse_uuids, ids, what="user_ids")


class TokenIn(serializers.Serializer):
    email = serializers.EmailField()
    password = TextField(trim_whitespace=False, style={"input_type": "password"})


# --- Output -------------------------------------------------------------------


class UserOut(serializers.Serializer):
    id = serializers.UUIDField()
    display_name = serializers.CharField()
    role = serializers.CharField()

    def to_representation(self, user):
        return events.user_payload(user)


class MeOut(UserOut):
    email = serializers.EmailField()
    unread_total = serializers.IntegerField()

    def to_representation(self, user):
        return {
            **events.user_payload(user),
            "email": user.email,
            "unread_total": self.context["unread_total"],
        }


class UserListOut(serializers.Serializer):
    users = UserOut(many=True)


class MessageOut(serializers.Serializer):
    id = serializers.UUIDField()
    conversation_id = serializers.UUIDField()
    seq = serializers.IntegerField()
    sender = UserOut(allow_null=True)
    client_id = serializers.UUIDField(allow_null=True)
    message_type = serializers.ChoiceField(choices=MessageType.choices)
    content = serializers.CharField(help_text="Empty once deleted.")
    file_url = serializers.CharField()
    metadata = serializers.DictField()
    sent_at = serializers.DateTimeField()
    edited_at = serializers.DateTimeField(allow_null=True)
    deleted_at = serializers.DateTimeField(allow_null=True)

    def to_representation(self, message):
        return events.message_payload(message)


class ParticipantOut(serializers.Serializer):
    user = UserOut()
    role = serializers.ChoiceField(choices=ParticipantRole.choices)
    joined_at = serializers.DateTimeField()
    last_read_seq = serializers.IntegerField()
    last_delivered_seq = serializers.IntegerField()

    def to_representation(self, participant):
        return events.participant_payload(participant)


class ConversationOut(serializers.Serializer):
    """A conversation as the socket's ``conversation.*`` events carry it."""

    id = serializers.UUIDField()
    type = serializers.ChoiceField(choices=ConversationType.choices)
    title = TextField()
    created_at = serializers.DateTimeField()
    archived_at = serializers.DateTimeField(allow_null=True)
    last_seq = serializers.IntegerField()
    last_message_at = serializers.DateTimeField(allow_null=True)
    metadata = serializers.DictField()
    participants = ParticipantOut(many=True)

    def to_representation(self, conversation):
        return events.conversation_payload(
            conversation, getattr(conversation, "active_participants", None)
        )


class ConversationDetailOut(ConversationOut):
    """The requester's view of a conversation they are in: rendered from
    their membership (``conversation.active_participants`` set by the
    caller, or loaded)."""

    unread_count = serializers.IntegerField()

    def to_representation(self, membership):
        payload = super().to_representation(membership.conversation)
        payload["unread_count"] = max(
            0, membership.conversation.last_seq - membership.last_read_seq
        )
        return payload


class InboxConversationOut(ConversationDetailOut):
    last_message = MessageOut(allow_null=True)

    def to_representation(self, membership):
        payload = super().to_representation(membership)
        last = self.context["last_messages"].get(membership.conversation_id)
        payload["last_message"] = events.message_payload(last) if last else None
        return payload


class ConversationListOut(serializers.Serializer):
    conversations = InboxConversationOut(many=True)


class HistoryOut(serializers.Serializer):
    messages = MessageOut(many=True)
    has_more = serializers.BooleanField(
        help_text="More messages lie beyond this page in the direction of travel: newer "
        "ones after after_seq, older ones otherwise."
    )
    next_after_seq = serializers.IntegerField(
        allow_null=True, help_text="The last seq of this page: pass as after_seq for newer."
    )
    next_before_seq = serializers.IntegerField(
        allow_null=True, help_text="The first seq of this page: pass as before_seq for older."
    )


class ReadOut(serializers.Serializer):
    conversation_id = serializers.UUIDField()
    last_read_seq = serializers.IntegerField()
    last_delivered_seq = serializers.IntegerField()
    unread_count = serializers.IntegerField()

    def to_representation(self, membership):
        return {
            "conversation_id": str(membership.conversation_id),
            "last_read_seq": membership.last_read_seq,
            "last_delivered_seq": membership.last_delivered_seq,
            "unread_count": max(0, membership.conversation.last_seq - membership.last_read_seq),
        }


class PresenceOut(serializers.Serializer):
    user_id = serializers.UUIDField()
    status = serializers.ChoiceField(choices=PresenceStatus.choices)
    last_seen = serializers.DateTimeField(allow_null=True)


class PresenceListOut(serializers.Serializer):
    users = PresenceOut(many=True)


class TokenOut(serializers.Serializer):
    token = serializers.CharField()


class ErrorDetailOut(serializers.Serializer):
    code = serializers.CharField()
    message = serializers.CharField()
    # DRF's metaclass takes declared fields out of the class, so this names
    # the output key without shadowing Serializer.fields at run time.
    fields = serializers.DictField(  # type: ignore[assignment]
        required=False, help_text="Per-field details (invalid)."
    )


class ErrorOut(serializers.Serializer):
    error = ErrorDetailOut()
