"""A person's own moderation warnings in a conversation (docs/api.md,
Moderation): the conversation page shows them again after a reload, as the
``moderation.warning`` frame showed them live."""

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.response import Response

from messaging import events, selectors
from messaging.api.serializers import DateTimeOut, ErrorOut
from messaging.api.views import ParleyAPIView
from messaging.moderation import selectors as moderation_selectors


class WarningOut(serializers.Serializer):
    id = serializers.UUIDField()
    conversation_id = serializers.UUIDField()
    message_id = serializers.UUIDField(allow_null=True)
    text = serializers.CharField()
    created_at = DateTimeOut()

    def to_representation(self, warning):
        return events.warning_payload(warning)


class WarningListOut(serializers.Serializer):
    warnings = WarningOut(many=True)


class WarningListView(ParleyAPIView):
    @extend_schema(
        operation_id="moderation_warnings_list",
        responses={
            200: WarningListOut,
            401: OpenApiResponse(ErrorOut, description="not authenticated"),
            404: OpenApiResponse(
                ErrorOut,
                description="no such conversation, or you are not a member of it (the same "
                "answer; the refusal is recorded in the audit log)",
            ),
        },
        description="The moderators' warnings to the caller in this conversation, oldest "
        "first. Nobody else's: a warning is shown only to the person warned.",
    )
    def get(self, request, conversation_id):
        selectors.membership_for(
            request.user, conversation_id, attempted="moderation.warnings.read"
        )
        warnings = moderation_selectors.warnings_for(request.user, conversation_id)
        return Response({"warnings": WarningOut(warnings, many=True).data})
