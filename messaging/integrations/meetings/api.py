"""The video calls' API (docs/api.md, "Video calls"): start a call in a
conversation, read one, and get one's own join URL. Thin, as
``messaging.api.views``: parse, one service or selector call, JSON. Starting
and joining spend from the same per-user bucket as sends."""

from django.urls import path, reverse
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response

from messaging import events
from messaging.api import serializers as s
from messaging.api.views import ParleyAPIView, _errors, _valid
from messaging.integrations.meetings import selectors, services
from messaging.integrations.models import Meeting
from messaging.realtime import ratelimit


def meeting_payload(meeting: Meeting) -> dict:
    """A call as the API shows it to a member: never a join URL (each
    person asks for their own, ``join_path``)."""
    starter = meeting.started_by
    return {
        "id": str(meeting.pk),
        "conversation_id": str(meeting.conversation_id),
        "message_id": str(meeting.message_id) if meeting.message_id else None,
        "provider": meeting.provider,
        "title": meeting.title,
        "starts_at": meeting.starts_at.isoformat(),
        "duration_minutes": meeting.duration_minutes,
        "started_by": events.user_payload(starter) if starter else None,
        "join_path": reverse("meeting_join", args=[meeting.pk]),
    }


class MeetingStartIn(s.InputSerializer):
    # A conversation's title rule, so the schema states what the service
    # refuses (control characters, more than one line).
    title = s.TitleField(
        required=False,
        default="",
        allow_blank=True,
        help_text="What the call is about (one line, at most MAX_TITLE_CHARS, 200); may be empty.",
    )


class MeetingOut(serializers.Serializer):
    id = serializers.UUIDField()
    conversation_id = serializers.UUIDField()
    message_id = serializers.UUIDField(
        allow_null=True, help_text="The message announcing it (null if that was purged)."
    )
    provider = serializers.ChoiceField(choices=["jitsi", "bigbluebutton", "link"])
    title = serializers.CharField()
    starts_at = s.DateTimeOut()
    duration_minutes = serializers.IntegerField()
    started_by = s.UserOut(allow_null=True)
    join_path = serializers.CharField(
        help_text="The page that sends you on to your own join URL (a 302)."
    )


class MeetingStartedOut(MeetingOut):
    message = s.MessageOut(help_text="The `meeting` message posted in the conversation.")


class JoinOut(serializers.Serializer):
    url = serializers.URLField(
        help_text="Your own way into the call (it may carry a token made for you: do not share it)."
    )


class ConversationMeetingsView(ParleyAPIView):
    @extend_schema(
        operation_id="meetings_start",
        request=MeetingStartIn,
        responses={201: MeetingStartedOut, **_errors(400, 401, 403, 404, 409, 422, 429)},
        description="Start a video call: posts a `meeting` message (docs/protocol.md). "
        "Only someone who may post here; 409 `meetings_off` when calls are not set up, "
        "or `archived`.",
    )
    def post(self, request, conversation_id):
        data = _valid(MeetingStartIn, request.data)
        ratelimit.spend_send(request.user)
        meeting = services.start_meeting(
            actor=request.user, conversation_id=conversation_id, title=data["title"]
        )
        assert meeting.message is not None  # just posted
        body = {**meeting_payload(meeting), "message": s.MessageOut(meeting.message).data}
        return Response(body, status=status.HTTP_201_CREATED)


class MeetingDetailView(ParleyAPIView):
    @extend_schema(
        operation_id="meetings_read",
        responses={200: MeetingOut, **_errors(401, 404)},
    )
    def get(self, request, meeting_id):
        meeting = selectors.visible_meeting(user=request.user, meeting_id=meeting_id)
        return Response(meeting_payload(meeting))


class MeetingJoinView(ParleyAPIView):
    @extend_schema(
        operation_id="meetings_join",
        responses={200: JoinOut, **_errors(401, 404, 409, 429, 503)},
        description="Your own join URL, made now by the call's provider (members only). "
        "503 `unavailable` when a BigBlueButton server does not answer.",
    )
    def get(self, request, meeting_id):
        ratelimit.spend_send(request.user)
        return Response(
            {"url": services.join_url(user=request.user, meeting_id=meeting_id)},
            headers={"Cache-Control": "no-store"},
        )


urlpatterns = [
    path(
        "conversations/<uuid:conversation_id>/meetings/",
        ConversationMeetingsView.as_view(),
        name="api-meetings",
    ),
    path("meetings/<uuid:meeting_id>/", MeetingDetailView.as_view(), name="api-meeting"),
    path("meetings/<uuid:meeting_id>/join/", MeetingJoinView.as_view(), name="api-meeting-join"),
]
