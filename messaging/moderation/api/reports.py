"""Reporting a message (docs/api.md, Reports and blocks): a thin view over
``messaging.moderation.services.reports``."""

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.response import Response

from messaging.api.serializers import ErrorOut
from messaging.api.views import ParleyAPIView
from messaging.moderation.api import serializers as s
from messaging.moderation.services import reports
from messaging.realtime import ratelimit

_ERRORS = {
    400: "invalid: an unknown reason, details over 1000 characters, one's own message, "
    "or a system message; an encrypted message without e2e ({text, franking_key}), or e2e "
    "for a plain one; franking_mismatch: the text and key do not match the tag stored "
    "when the message was sent",
    401: "not authenticated",
    404: "not_found: no such message, it was deleted, or you are not a member of its "
    "conversation (the same answer; the refusal is recorded in the audit log)",
    429: "rate_limited: over the per-person send budget (each report opens a case and "
    "writes an audit row)",
}


class ReportMessageView(ParleyAPIView):
    @extend_schema(
        operation_id="messages_report",
        request=s.ReportIn,
        responses={
            201: s.ReportOut,
            200: OpenApiResponse(
                s.ReportOut, description="You reported this message before: that report."
            ),
            **{code: OpenApiResponse(ErrorOut, description=text) for code, text in _ERRORS.items()},
        },
        description="Report someone else's message to the moderators: it opens (or reopens) "
        "the message's case in the moderation queue. Once per person and message.",
    )
    def post(self, request, message_id):
        serializer = s.ReportIn(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        # A report is a case in the queue and an audit row, kept for ever:
        # it spends from the sends' bucket, as a block does.
        ratelimit.spend_send(request.user)
        report, created = reports.report_message(
            reporter=request.user,
            message_id=message_id,
            reason=data["reason"],
            details=data["details"],
            e2e=data.get("e2e"),
        )
        return Response(
            s.ReportOut(report).data,
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )
