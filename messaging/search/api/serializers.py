"""The search API's shapes: its query parameters, and its answer for the
schema (messages render through ``events.message_payload`` as everywhere)."""

import re

from django.utils.functional import lazy
from drf_spectacular.extensions import OpenApiSerializerFieldExtension
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from messaging import events, limits
from messaging.api import schema
from messaging.api import serializers as s
from messaging.models import ConversationType
from messaging.search.selectors import MAX_OFFSET, SearchHit

_DIGITS = re.compile(r"[0-9]{1,9}")


def _number(name: str, value: object, *, lowest: int, highest: int) -> int:
    if not isinstance(value, str) or not _DIGITS.fullmatch(value):
        raise serializers.ValidationError(f"{name} must be a whole number.")
    number = int(value)
    if not lowest <= number <= highest:
        raise serializers.ValidationError(f"{name} is a whole number from {lowest} to {highest}.")
    return number


@extend_schema_field({"type": "integer", "minimum": 1})
class LimitField(serializers.IntegerField):
    """Results per page, 1 to ``SEARCH_MAX_PAGE_SIZE``."""

    def to_internal_value(self, data):
        return _number("limit", data, lowest=1, highest=limits.search_max_page_size())


@extend_schema_field({"type": "integer", "minimum": 0, "maximum": MAX_OFFSET})
class OffsetField(serializers.IntegerField):
    """Results to skip, 0 to ``MAX_OFFSET``."""

    def to_internal_value(self, data):
        return _number("offset", data, lowest=0, highest=MAX_OFFSET)


class QueryTextField(s.TextField):
    """The query as typed; ``query.parse`` reads it (and refuses what it must)."""


class QueryTextFieldSchema(OpenApiSerializerFieldExtension):
    """The query's schema, made when the schema is (its pattern takes most
    of a second to build: not on import, in every process)."""

    target_class = QueryTextField

    def map_serializer_field(self, auto_schema, direction):
        return {
            "type": "string",
            "minLength": 1,
            "maxLength": limits.search_max_query_chars(),
            "pattern": schema.not_blank_pattern(),
        }


def _q_help() -> str:
    return (
        f"What to search for, at most {limits.search_max_query_chars()} characters: words, "
        '"phrases", -excluded, and the operators of docs/api.md (from:, in:, has:, is:, '
        "before:, after:)."
    )


def _limit_help() -> str:
    return (
        f"Results per page, default {limits.search_page_size()}, "
        f"at most {limits.search_max_page_size()}."
    )


class SearchQueryIn(s.QuerySerializer):
    q = QueryTextField(help_text=lazy(_q_help, str)(), trim_whitespace=False)
    conversation_id = s.UUIDField(required=False, help_text="Search this conversation only.")
    limit = LimitField(required=False, help_text=lazy(_limit_help, str)())
    offset = OffsetField(
        required=False, default=0, help_text="Results to skip: the previous answer's next_offset."
    )


class SearchConversationOut(serializers.Serializer):
    id = serializers.UUIDField()
    type = serializers.ChoiceField(choices=ConversationType.choices)
    title = serializers.CharField(help_text="As stored; empty for direct conversations.")


class SearchResultOut(serializers.Serializer):
    message = s.MessageOut()
    conversation = SearchConversationOut()
    snippet = serializers.CharField(
        help_text="HTML: the matching text, escaped, with <mark>…</mark> around the matches."
    )
    rank = serializers.FloatField(help_text="Higher is better; 0 for a query without words.")

    def to_representation(self, hit: SearchHit):
        conversation = hit.message.conversation
        return {
            "message": events.message_payload(hit.message),
            "conversation": {
                "id": str(conversation.pk),
                "type": conversation.type,
                "title": conversation.title,
            },
            "snippet": hit.snippet,
            "rank": hit.rank,
        }


class SearchResultsOut(serializers.Serializer):
    results = SearchResultOut(many=True)
    has_more = serializers.BooleanField(help_text="More results follow this page.")
    next_offset = serializers.IntegerField(
        allow_null=True, help_text="The offset of the next page, or null on the last."
    )
