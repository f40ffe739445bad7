"""The moderation API's shapes: inputs parsed as the rest of the API parses
them, outputs declared for the schema."""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from messaging.api.serializers import DateTimeOut, InputSerializer, TextField, UserOut, _parsed
from messaging.e2e import franking
from messaging.models import ReportReason
from messaging.moderation.services import reports


class DetailsField(TextField):
    """A report's details: ``reports.clean_details``."""

    def to_internal_value(self, data):
        return _parsed(reports.clean_details, super().to_internal_value(data))


@extend_schema_field(
    {
        "type": "object",
        "properties": {
            "text": {"type": "string", "maxLength": franking.MAX_TEXT_CHARS},
            "franking_key": {"type": "string", "format": "byte"},
        },
        "required": ["text", "franking_key"],
        "additionalProperties": False,
    }
)
class E2eDisclosureField(serializers.Field):
    """``franking.clean_disclosure``."""

    def to_internal_value(self, data):
        return _parsed(franking.clean_disclosure, data)


class ReportIn(InputSerializer):
    reason = serializers.ChoiceField(choices=ReportReason.choices)
    details = DetailsField(
        required=False,
        default="",
        allow_blank=True,
        trim_whitespace=False,
        max_length=reports.MAX_DETAILS_CHARS,
        help_text="What the moderators should know; at most 1000 characters.",
    )
    e2e = E2eDisclosureField(
        required=False,
        help_text="Required for an end-to-end encrypted message: its decrypted text and "
        "franking_key (docs/e2e.md, Message franking); refused for any other.",
    )


class ReportOut(serializers.Serializer):
    id = serializers.UUIDField()
    message_id = serializers.UUIDField()
    reason = serializers.ChoiceField(choices=ReportReason.choices)
    details = serializers.CharField()
    created_at = DateTimeOut()


class BlockOut(serializers.Serializer):
    user = UserOut(source="blocked")
    created_at = DateTimeOut()


class BlockListOut(serializers.Serializer):
    blocks = BlockOut(many=True)
