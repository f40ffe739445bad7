"""The moderation API's shapes: inputs parsed as the rest of the API parses
them, outputs declared for the schema."""

from rest_framework import serializers

from messaging.api.serializers import InputSerializer, TextField, UserOut, _parsed
from messaging.models import ReportReason
from messaging.moderation.services import reports


class DetailsField(TextField):
    """A report's details: ``reports.clean_details``."""

    def to_internal_value(self, data):
        return _parsed(reports.clean_details, super().to_internal_value(data))


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


class ReportOut(serializers.Serializer):
    id = serializers.UUIDField()
    message_id = serializers.UUIDField()
    reason = serializers.ChoiceField(choices=ReportReason.choices)
    details = serializers.CharField()
    created_at = serializers.DateTimeField()


class BlockOut(serializers.Serializer):
    user = UserOut(source="blocked")
    created_at = serializers.DateTimeField()


class BlockListOut(serializers.Serializer):
    blocks = BlockOut(many=True)
