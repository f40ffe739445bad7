"""Input validation, and output in the socket's JSON shapes.

Input fields parse with the functions the socket uses
(``messaging.validation``), so a value is refused the same way, with the
same code (``invalid``, ``too_long``), over HTTP and over the socket; the
services then trust what they are given.

Output serializers declare their fields for the OpenAPI schema, but render
through the payload builders in ``messaging.events``, so a message or a
conversation looks the same over HTTP as in a socket frame.
"""

import datetime as dt
import re
from collections.abc import Callable

from django.utils.dateparse import parse_datetime
from django.utils.functional import lazy
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.fields import empty
from rest_framework.utils import html

from messaging import events, limits, selectors, validation
from messaging.e2e import messages as e2e_messages
from messaging.errors import InvalidInput
from messaging.files.api.serializers import AttachmentOut
from messaging.models import ConversationType, MessageType, ParticipantRole, PresenceStatus
from messaging.threads import validation as thread_validation

MAX_PRESENCE_USERS = validation.MAX_PRESENCE_IDS


# --- Input --------------------------------------------------------------------


# Comments, not docstrings, on the two bases below: the schema takes a
# serializer's docstring (inherited ones too) as its component's description.


class InputSerializer(serializers.Serializer):
    # A request body, validated whole: the API has no partial updates, so a
    # PATCH body names every field it needs, as the schema says.

    @property
    def partial(self) -> bool:
        return False

    @partial.setter
    def partial(self, value: bool) -> None:
        pass  # DRF (and the schema generator) set it for PATCH; it stays False


class QuerySerializer(serializers.Serializer):
    # Query parameters, read as given: ``?type=`` is an empty value, which
    # the field refuses, not an absent one (DRF's reading of HTML forms).
    # ``exclusive`` names parameters that may not be given together.

    exclusive: tuple[str, ...] = ()

    def __init__(self, instance=None, data=empty, **kwargs):
        if html.is_html_input(data):
            data = {key: data.get(key) for key in data}
        super().__init__(instance, data, **kwargs)


def _reads_text(field: serializers.Field) -> bool:
    """Whether the field's value came as text (a query string), where a
    number is written in digits, rather than in a JSON body."""
    return isinstance(field.root, QuerySerializer)


# As many digits as Python reads into an int (``sys.get_int_max_str_digits``),
# the same bound a JSON body's integers have.
_DIGITS = re.compile(r"[0-9]{1,4300}")


def _whole_number(field: serializers.Field, data: object) -> object:
    """A JSON body's value as given (``messaging.validation`` wants a JSON
    integer, as over the socket); a query string's ASCII digits as a
    number. DRF's IntegerField would also take ``"5.0"``, ``" 5"`` and other
    digits than ASCII, which the schema's ``integer`` does not."""
    if not _reads_text(field):
        return data
    if isinstance(data, str) and _DIGITS.fullmatch(data):
        return int(data)
    raise serializers.ValidationError(
        _("%(field)s must be a whole number.") % {"field": field.field_name}
    )


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


@extend_schema_field({"type": "integer", "minimum": 0, "maximum": validation.MAX_SEQ})
class SeqField(serializers.IntegerField):
    """A seq: ``validation.clean_seq``, after a query string's digits are
    read as a number."""

    def to_internal_value(self, data):
        return _parsed(validation.clean_seq, _whole_number(self, data), what=self.field_name)


@extend_schema_field({"type": "integer", "minimum": 1})
class PageSizeField(serializers.IntegerField):
    """A history page size: ``validation.clean_page_size`` (capped at the maximum)."""

    def to_internal_value(self, data):
        return _parsed(validation.clean_page_size, _whole_number(self, data))


class DateTimeOut(serializers.DateTimeField):
    """A stored time as every answer writes it, the socket's frames too
    (``messaging.events``): ISO 8601 in UTC with ``+00:00``, whatever zone
    the person's request runs in (DRF's own wrote ``Z``, or the person's
    offset once their time zone was active)."""

    def to_representation(self, value):
        if not isinstance(value, dt.datetime):
            return super().to_representation(value)
        return value.astimezone(dt.UTC).isoformat()


@extend_schema_field({"type": "string", "format": "date-time"})
class AwareDateTimeField(serializers.Field):
    """An ISO 8601 (RFC 3339) date and time with its offset or ``Z``: a time
    without one would be read in a zone the client did not choose. It must
    also be a time in UTC (year 9999 at most): ``9999-12-31T23:59-05:00``
    is not, and PostgreSQL would store it and then fail to read it back."""

    MAX_CHARS = 64

    def to_internal_value(self, data) -> dt.datetime:
        if not isinstance(data, str) or len(data) > self.MAX_CHARS:
            raise serializers.ValidationError(_("Not an ISO 8601 date and time."))
        try:
            # RFC 3339 allows a lowercase "t" and "z".
            parsed = parse_datetime(data.strip().upper())
        except ValueError:
            parsed = None
        if parsed is None:
            raise serializers.ValidationError(_("Not an ISO 8601 date and time."))
        if parsed.tzinfo is None:
            raise serializers.ValidationError(_("Give a time zone (an offset or Z)."))
        try:
            parsed.astimezone(dt.UTC)
        except OverflowError:
            raise serializers.ValidationError(_("Not an ISO 8601 date and time.")) from None
        return parsed

    def to_representation(self, value: dt.datetime) -> str:
        return value.isoformat()


class StrictBooleanField(serializers.BooleanField):
    """A JSON ``true`` or ``false``, nothing else (DRF's field also takes
    ``1``, ``"yes"`` and others): ``threads.validation.clean_flag``."""

    def to_internal_value(self, data):
        return _parsed(thread_validation.clean_flag, data, what=self.field_name)


class QueryBooleanField(serializers.BooleanField):
    """``true`` or ``false``, as the schema's boolean is written in a query
    string (DRF's field also takes ``1``, ``yes``, ``on`` and others)."""

    TRUE_VALUES = {"true"}
    FALSE_VALUES = {"false"}

    @staticmethod
    def _lower_if_str(value):
        # Exactly as written: DRF lowers the text first, taking "True" too.
        return value


def _at_most_group_size(ids: list) -> list:
    if len(ids) > limits.max_group_members():
        raise serializers.ValidationError(
            _("A conversation has at most %(count)s members.")
            % {"count": limits.max_group_members()}
        )
    return ids


class ConversationListQuery(QuerySerializer):
    type = serializers.ChoiceField(choices=ConversationType.choices, required=False)
    archived = QueryBooleanField(
        default=False, help_text="true lists archived conversations instead of active ones."
    )


class ConversationCreateIn(InputSerializer):
    type = serializers.ChoiceField(choices=ConversationType.choices)
    encrypted = StrictBooleanField(
        required=False,
        default=False,
        help_text="End-to-end encrypted (docs/e2e.md): direct or group only, at most "
        "PARLEY_E2E_MAX_MEMBERS members, no bots. An encrypted direct conversation is "
        "distinct from the plain one between the same two people.",
    )
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


class ConversationUpdateIn(InputSerializer):
    title = TitleField()


class ParticipantsAddIn(InputSerializer):
    user_ids = serializers.ListField(child=UUIDField(), min_length=1)

    def validate_user_ids(self, value):
        return _at_most_group_size(value)


def _page_size_help() -> str:
    return (
        f"Page size, default {limits.history_page_size()}, "
        f"at most {limits.history_max_page_size()}."
    )


class HistoryQuery(QuerySerializer):
    exclusive = ("after_seq", "before_seq")  # stated in the schema (messaging.api.schema)

    after_seq = SeqField(required=False, help_text="Page forward: messages after this seq.")
    before_seq = SeqField(required=False, help_text="Page back: messages before this seq.")
    limit = PageSizeField(required=False, help_text=lazy(_page_size_help, str)())

    def validate(self, attrs):
        _parsed(validation.clean_history_cursors, attrs.get("after_seq"), attrs.get("before_seq"))
        return attrs


class CaptionField(_CleanedTextField):
    """A message's text beside files: ``validation.clean_caption`` (may be empty)."""

    clean = staticmethod(validation.clean_caption)


@extend_schema_field(
    {
        "type": "array",
        "items": {"type": "string", "format": "uuid"},
        "maxItems": 10,
        "uniqueItems": True,
    }
)
class AttachmentIdsField(serializers.Field):
    """Upload ids: ``validation.clean_attachment_ids`` (a list of UUID
    strings, each once; over the limit is ``too_many_files``)."""

    def to_internal_value(self, data):
        return _parsed(validation.clean_attachment_ids, data)


@extend_schema_field(
    {
        "type": "object",
        "properties": {
            "key_version": {"type": "integer", "minimum": 1, "maximum": 2**31 - 1},
            "device_id": {"type": "string", "format": "uuid"},
            # 12 bytes, 32 bytes, at least 16 bytes: standard base64, padded.
            "nonce": {"type": "string", "pattern": "^[A-Za-z0-9+/]{16}$"},
            "ciphertext": {
                "type": "string",
                "minLength": 24,
                "maxLength": e2e_messages.MAX_B64_CHARS - 16 - 44,
                "pattern": "^(?:[A-Za-z0-9+/]{4})+(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$",
            },
            "franking_tag": {"type": "string", "pattern": "^[A-Za-z0-9+/]{42}[AEIMQUYcgkosw048]=$"},
        },
        "required": list(e2e_messages.E2E_FIELDS),
        "additionalProperties": False,
    }
)
class E2eField(serializers.Field):
    """An end-to-end encrypted message (docs/e2e.md): ``e2e_messages.clean_e2e``."""

    def to_internal_value(self, data):
        return _parsed(e2e_messages.clean_e2e, data)


class _WithE2e(InputSerializer):
    """A send or an edit: ``content``, or, end-to-end encrypted, ``e2e``
    with no content (absent, null or "")."""

    # Stated in the schema (messaging.api.schema).
    exclusive_fields = ("content", "e2e")

    def to_internal_value(self, data):
        encrypted = isinstance(data, dict) and data.get("e2e") is not None
        if encrypted:
            # Nothing else of a plain send applies.
            self.fields["content"] = serializers.HiddenField(default="")
        # The e2e object first, as the socket checks it: a malformed one is
        # the field's own error (too_large included), not a word about the
        # content beside it.
        attrs = super().to_internal_value(data)
        if encrypted:
            try:
                e2e_messages.clean_plain_content_absent(data.get("content"))
            except InvalidInput as error:
                raise serializers.ValidationError({"content": [error.message]}) from None
        return attrs


class MessageSendIn(_WithE2e):
    client_id = UUIDField(
        help_text="A UUID the client makes for this message; sending again with it is "
        "answered with the stored message."
    )
    content = ContentField(
        required=False,
        help_text="The text; required without attachments, a caption (may be empty) with them.",
    )
    attachments = AttachmentIdsField(
        required=False,
        default=list,
        help_text="Ids of your unsent uploads in this conversation, in the order to show "
        "(at most MAX_ATTACHMENTS_PER_MESSAGE, 10 by default).",
    )
    parent_id = UUIDField(
        required=False,
        allow_null=True,
        help_text="Reply in the thread of this message of the conversation (a thread reply "
        "names its thread's root).",
    )
    reply_to_id = UUIDField(
        required=False,
        allow_null=True,
        help_text="Quote this message of the conversation (it may be deleted or hidden).",
    )
    also_to_conversation = StrictBooleanField(
        required=False,
        default=False,
        allow_null=True,  # null reads as absent, as the socket reads it
        help_text="With parent_id: show the thread reply in the main stream too.",
    )
    e2e = E2eField(
        required=False,
        help_text="An end-to-end encrypted message instead of content (docs/e2e.md); "
        "required in an encrypted conversation, refused in a plain one.",
    )

    def to_internal_value(self, data):
        # The content's rule depends on the attachments: with files it is a
        # caption and may be empty or absent.
        if isinstance(data, dict) and data.get("attachments") and data.get("e2e") is None:
            self.fields["content"] = CaptionField(required=False, default="")
        return super().to_internal_value(data)

    def validate(self, attrs):
        if not attrs["attachments"] and "content" not in attrs:
            raise serializers.ValidationError({"content": ["This field is required."]})
        attrs.setdefault("content", "")
        return attrs


class MessageEditIn(_WithE2e):
    one_of_exclusive_required = True

    content = ContentField()
    e2e = E2eField(
        required=False,
        help_text="An encrypted message's new encryption instead of content (docs/e2e.md).",
    )


class ReadIn(InputSerializer):
    seq = SeqField(help_text="Everything up to this seq is read (capped at the latest).")


_UUID = "[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
# What the schema states and the field checks: 1 to 200 UUIDs, comma-separated.
USER_IDS_PATTERN = f"^{_UUID}(,{_UUID}){{0,{MAX_PRESENCE_USERS - 1}}}$"
_USER_IDS = re.compile(USER_IDS_PATTERN)


@extend_schema_field({"type": "string", "pattern": USER_IDS_PATTERN})
class UserIdsField(serializers.CharField):
    """Comma-separated UUIDs, as ``USER_IDS_PATTERN`` says."""


class PresenceQuery(QuerySerializer):
    user_ids = UserIdsField(
        help_text=f"Comma-separated user ids (UUIDs, no spaces), 1 to {MAX_PRESENCE_USERS}."
    )

    def validate_user_ids(self, value):
        ids = value.split(",")
        if len(ids) > MAX_PRESENCE_USERS:
            raise serializers.ValidationError(
                _("At most %(count)s user ids.") % {"count": MAX_PRESENCE_USERS}
            )
        if not _USER_IDS.fullmatch(value):
            raise serializers.ValidationError(_("user_ids must be UUIDs separated by commas."))
        return _parsed(validation.parse_uuids, ids, what="user_ids")


class TokenIn(InputSerializer):
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


class ThreadSummaryOut(serializers.Serializer):
    reply_count = serializers.IntegerField()
    last_reply_at = DateTimeOut(allow_null=True)
    last_reply_seq = serializers.IntegerField()
    last_repliers = UserOut(many=True, help_text="The last three distinct repliers, newest first.")


class QuoteOut(serializers.Serializer):
    id = serializers.UUIDField()
    seq = serializers.IntegerField()
    parent_id = serializers.UUIDField(allow_null=True)
    sender = UserOut(allow_null=True)
    excerpt = serializers.CharField(help_text="Empty once the quoted message is deleted or hidden.")
    deleted = serializers.BooleanField()
    hidden = serializers.BooleanField()


class ReactionOut(serializers.Serializer):
    emoji = serializers.CharField()
    count = serializers.IntegerField()
    users = UserOut(many=True)


class PinnedOut(serializers.Serializer):
    pinned_by = UserOut(allow_null=True)
    pinned_at = DateTimeOut()


class LinkPreviewOut(serializers.Serializer):
    url = serializers.CharField()
    title = serializers.CharField()
    description = serializers.CharField()
    site_name = serializers.CharField()
    image_url = serializers.CharField(allow_null=True)
    image_width = serializers.IntegerField(allow_null=True)
    image_height = serializers.IntegerField(allow_null=True)


class MessageOut(serializers.Serializer):
    id = serializers.UUIDField()
    conversation_id = serializers.UUIDField()
    seq = serializers.IntegerField()
    sender = UserOut(allow_null=True)
    client_id = serializers.UUIDField(allow_null=True)
    message_type = serializers.ChoiceField(choices=MessageType.choices)
    content = serializers.CharField(help_text="Empty once deleted or hidden.")
    file_url = serializers.CharField()
    metadata = serializers.DictField()
    attachments = AttachmentOut(
        many=True, help_text="Files and images; none once deleted or hidden."
    )
    sent_at = DateTimeOut()
    edited_at = DateTimeOut(allow_null=True)
    deleted_at = DateTimeOut(allow_null=True)
    hidden = serializers.BooleanField(
        help_text="Hidden by a moderator: shown as a placeholder to everyone, sender included."
    )
    # messaging.threads (docs/protocol.md, "Rich text, replies, threads, …").
    content_html = serializers.CharField(
        help_text="content rendered from Markdown and sanitized; empty when deleted or hidden."
    )
    parent_id = serializers.UUIDField(
        allow_null=True, help_text="The root of the thread this message replies in."
    )
    also_to_conversation = serializers.BooleanField(
        help_text="A thread reply also shown in the main stream."
    )
    reply_to = QuoteOut(allow_null=True, help_text="The message this one quotes.")
    thread = ThreadSummaryOut(
        allow_null=True, help_text="On a thread's root: its summary; null without replies."
    )
    reactions = ReactionOut(many=True)
    pinned = PinnedOut(allow_null=True)
    link_preview = LinkPreviewOut(allow_null=True)
    e2e = E2eField(
        required=False,
        allow_null=True,
        help_text="Only on encrypted messages (message_type encrypted): the ciphertext as sent; "
        "null once deleted or hidden.",
    )

    def to_representation(self, message):
        return events.message_payload(message)


class ParticipantOut(serializers.Serializer):
    user = UserOut()
    role = serializers.ChoiceField(choices=ParticipantRole.choices)
    joined_at = DateTimeOut()
    last_read_seq = serializers.IntegerField()
    last_delivered_seq = serializers.IntegerField()

    def to_representation(self, participant):
        return events.participant_payload(participant)


class ConversationE2EOut(serializers.Serializer):
    key_version = serializers.IntegerField(help_text="0 until the first key is posted.")
    rotation_required = serializers.BooleanField(
        help_text="A member's browser must post the next key version before anyone writes."
    )


class ConversationOut(serializers.Serializer):
    """A conversation as the socket's ``conversation.*`` events carry it."""

    id = serializers.UUIDField()
    type = serializers.ChoiceField(choices=ConversationType.choices)
    title = TextField()
    created_at = DateTimeOut()
    archived_at = DateTimeOut(allow_null=True)
    last_seq = serializers.IntegerField()
    last_message_at = DateTimeOut(allow_null=True)
    metadata = serializers.DictField()
    participants = ParticipantOut(many=True)
    e2e = ConversationE2EOut(
        allow_null=True,
        help_text="null for a plain conversation; an end-to-end encrypted one's key state "
        "(docs/e2e.md).",
    )

    def to_representation(self, conversation):
        return events.conversation_payload(
            conversation, getattr(conversation, "active_participants", None)
        )


def _unread(membership) -> int:
    """Main-stream unread (thread-only replies have their thread's own):
    the inbox's annotation when the membership came from it, else asked."""
    annotated = getattr(membership, "unread_count", None)
    if annotated is not None:
        return max(annotated, 0)
    return selectors.unread_in(membership)


class ConversationDetailOut(ConversationOut):
    """The requester's view of a conversation they are in: rendered from
    their membership (``conversation.active_participants`` set by the
    caller, or loaded)."""

    unread_count = serializers.IntegerField(
        help_text="Unread messages of the main stream; thread-only replies do not count "
        "(each thread has its own unread)."
    )
    archived_for_me_at = DateTimeOut(
        allow_null=True,
        help_text="When you archived it for yourself (PUT …/personal-archive/); null if "
        "you did not. A message newer than this brings it back to your inbox unless muted.",
    )

    def to_representation(self, membership):
        payload = super().to_representation(membership.conversation)
        payload["unread_count"] = _unread(membership)
        archived_at = membership.archived_at
        payload["archived_for_me_at"] = archived_at.isoformat() if archived_at else None
        return payload


class PersonalArchiveOut(serializers.Serializer):
    conversation_id = serializers.UUIDField()
    archived_for_me_at = DateTimeOut()

    def to_representation(self, membership):
        return {
            "conversation_id": str(membership.conversation_id),
            "archived_for_me_at": membership.archived_at.isoformat(),
        }


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
            "unread_count": _unread(membership),
        }


class PresenceOut(serializers.Serializer):
    user_id = serializers.UUIDField()
    status = serializers.ChoiceField(choices=PresenceStatus.choices)
    last_seen = DateTimeOut(allow_null=True)


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


# --- Threads (messaging.threads.api.threads) ----------------------------------


class ThreadHistoryQuery(HistoryQuery):
    limit = PageSizeField(
        required=False,
        help_text="Page size, default THREAD_PAGE_SIZE (50), at most HISTORY_MAX_PAGE_SIZE.",
    )


class _WindowField(serializers.IntegerField):
    """A whole number of a paged list's window (``limit``, ``offset``),
    checked by ``validation.clean_list_window``."""

    def to_internal_value(self, data):
        return _whole_number(self, data)


@extend_schema_field({"type": "integer", "minimum": 1})
class ListLimitField(_WindowField):
    pass


@extend_schema_field({"type": "integer", "minimum": 0, "maximum": validation.MAX_LIST_OFFSET})
class ListOffsetField(_WindowField):
    pass


class ThreadListQuery(QuerySerializer):
    limit = ListLimitField(
        required=False, help_text="Page size, default 20; more than 100 is read as 100."
    )
    offset = ListOffsetField(required=False, help_text="Threads to skip, default 0.")

    def validate(self, attrs):
        limit, offset = _parsed(
            thread_validation.clean_list_window, attrs.get("limit"), attrs.get("offset")
        )
        return {"limit": limit, "offset": offset}


class ThreadReadIn(InputSerializer):
    seq = SeqField(
        help_text="The thread is read up to this seq (never moves back; capped at its last reply)."
    )


class ThreadStateOut(serializers.Serializer):
    thread_id = serializers.UUIDField()
    conversation_id = serializers.UUIDField()
    following = serializers.BooleanField()
    last_read_seq = serializers.IntegerField()
    unread = serializers.IntegerField(
        help_text="Replies after last_read_seq, not yours, neither deleted nor hidden."
    )


class ThreadDetailOut(ThreadStateOut):
    root = MessageOut()
    thread = ThreadSummaryOut(allow_null=True, help_text="null while it has no replies.")


class ThreadHistoryOut(HistoryOut):
    messages = MessageOut(many=True, help_text="Replies, oldest first (by seq).")


class FollowedThreadOut(serializers.Serializer):
    conversation_id = serializers.UUIDField()
    root = MessageOut()
    thread = ThreadSummaryOut()
    unread = serializers.IntegerField()
    following = serializers.BooleanField()


class ThreadListOut(serializers.Serializer):
    threads = FollowedThreadOut(many=True)
    has_more = serializers.BooleanField()
    next_offset = serializers.IntegerField(allow_null=True)
