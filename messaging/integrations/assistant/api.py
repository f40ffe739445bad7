"""The assistant's API (docs/api.md, "AI assistant"): the summary of one's
unread messages, returned to the caller only."""

from django.conf import settings
from django.urls import path
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.throttling import UserRateThrottle

from messaging.api.serializers import ErrorOut, SeqField
from messaging.api.views import ParleyAPIView
from messaging.integrations.assistant import services


class SummaryIn(serializers.Serializer):
    after_seq = SeqField(
        required=False,
        help_text="Summarise the messages after this seq (default: your read cursor).",
    )


class _BotOut(serializers.Serializer):
    id = serializers.UUIDField()
    display_name = serializers.CharField()


class SummaryOut(serializers.Serializer):
    summary = serializers.CharField(
        allow_blank=True, help_text="Markdown; empty when nothing is unread."
    )
    covered = serializers.IntegerField(help_text="The unread messages summarised (the latest).")
    unread = serializers.IntegerField(help_text="All of the caller's unread messages there.")
    assistant = _BotOut()


def _error(description: str) -> OpenApiResponse:
    return OpenApiResponse(ErrorOut, description=description)


class SummaryThrottle(UserRateThrottle):
    """Each summary is a paid call of the endpoint: ``AI_SUMMARY_RATE`` per
    person (DRF's ``count/period``)."""

    scope = "assistant_summary"

    def get_rate(self) -> str:
        return settings.AI_SUMMARY_RATE


class SummaryView(ParleyAPIView):
    throttle_classes = [SummaryThrottle]

    @extend_schema(
        operation_id="assistant_summary",
        request=SummaryIn,
        responses={
            200: SummaryOut,
            400: _error("invalid: after_seq is not a whole number, 0 or more"),
            401: _error("not authenticated"),
            403: _error("forbidden: a member who is neither a mentor nor an admin"),
            404: _error("not_found: no such conversation, or not a member"),
            429: _error("rate_limited: more than AI_SUMMARY_RATE summaries, with Retry-After"),
            409: _error("no_assistant: no AI assistant is a member of the conversation"),
            503: _error(
                "assistant_unavailable: the assistant is not configured, or its endpoint "
                "did not answer in time or failed"
            ),
        },
        description="The conversation's AI assistant summarises the caller's unread "
        "main-stream messages (the latest AI_SUMMARY_MAX_MESSAGES of them) for the caller "
        "alone: nothing is posted, nothing is marked read.",
    )
    def post(self, request, conversation_id):
        body = SummaryIn(data=request.data)
        body.is_valid(raise_exception=True)
        summary = services.summarise_unread(
            user=request.user,
            conversation_id=conversation_id,
            after_seq=body.validated_data.get("after_seq"),
        )
        return Response(
            {
                "summary": summary.text,
                "covered": summary.covered,
                "unread": summary.unread,
                "assistant": {
                    "id": str(summary.bot.user_id),
                    "display_name": summary.bot.user.display_name,
                },
            }
        )


urlpatterns: list = [
    path(
        "conversations/<uuid:conversation_id>/assistant/summary/",
        SummaryView.as_view(),
        name="api-assistant-summary",
    ),
]
