"""The scheduled messages' REST API (docs/api.md, Scheduled messages):
thin views over ``services`` and ``selectors``, mounted by
``messaging.integrations.api.urls``. Errors are the services' (``invalid``
400, ``forbidden`` 403, ``not_found`` 404, ``archived``, ``not_scheduled``
and ``too_many_scheduled`` 409), shaped by ``messaging.api.errors``."""

from django.urls import path
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.response import Response

from accounts.services import time_zone_names
from messaging.api.serializers import (
    ContentField,
    DateTimeOut,
    ErrorOut,
    InputSerializer,
    TextField,
    UUIDField,
)
from messaging.api.views import ParleyAPIView
from messaging.errors import InvalidInput
from messaging.integrations.models import ScheduledMessage, ScheduledState
from messaging.integrations.scheduling import selectors, services, validation
from messaging.integrations.scheduling.payloads import scheduled_payload
from messaging.realtime import ratelimit

_ERRORS = {
    400: "invalid: a field (send_at malformed, past, or too far ahead; an unknown "
    "time_zone; content empty or with refused characters), or too_long (content)",
    401: "not authenticated",
    403: "forbidden, blocked or muted: you may not post in that conversation now",
    404: "not_found: no such conversation (or one you are not a member of), or no such "
    "scheduled message (or someone else's)",
    409: "archived (the conversation); not_scheduled (already sent, failed or cancelled); "
    "too_many_scheduled (SCHEDULED_MESSAGES_MAX_PENDING waiting already)",
    429: "rate_limited: creating and editing spend from the same bucket as sends",
}


def _errors(*codes: int) -> dict:
    return {code: OpenApiResponse(ErrorOut, description=_ERRORS[code]) for code in codes}


# --- Input ----------------------------------------------------------------------------------


class _TimedIn(InputSerializer):
    """``send_at`` read in ``time_zone`` (the author's own by default)."""

    def validate(self, attrs):
        user = self.context["user"]
        zone = attrs.get("time_zone")
        if zone is None:
            # An edit keeps the zone the message was scheduled in.
            zone = self.context.get("stored_zone") or _zone_of(user)
            if "send_at" in attrs or self.context.get("always_zone"):
                attrs["time_zone"] = zone
        if "send_at" in attrs:
            try:
                attrs["send_at"] = validation.parse_send_at(attrs["send_at"], time_zone=zone)
            except InvalidInput as error:
                raise serializers.ValidationError({"send_at": error.message}) from None
        return attrs


@extend_schema_field(
    {
        "type": "string",
        "maxLength": 64,
        "pattern": r"^[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}",
    }
)
class SendAtField(TextField):
    """ISO-8601 text, read by ``validation.parse_send_at`` once the zone is known."""


def _time_zone_field(**kwargs) -> serializers.ChoiceField:
    return serializers.ChoiceField(choices=time_zone_names(), **kwargs)


class ScheduledCreateIn(_TimedIn):
    conversation_id = UUIDField()
    content = ContentField(help_text="The message's text, as a send takes it.")
    send_at = SendAtField(
        help_text="ISO-8601 date and time. With an offset (or Z): that instant. Without: a "
        "wall-clock time in time_zone."
    )
    time_zone = _time_zone_field(
        required=False,
        help_text="The IANA zone send_at is read (and shown) in; default: your time zone.",
    )


class ScheduledEditIn(_TimedIn):
    content = ContentField(required=False)
    send_at = SendAtField(required=False, help_text="As for creating.")
    time_zone = _time_zone_field(required=False, help_text="As for creating.")

    def validate(self, attrs):
        if "content" not in attrs and "send_at" not in attrs:
            raise serializers.ValidationError("Give content, send_at or both to change.")
        return super().validate(attrs)


def _zone_of(user) -> str:
    """The author's zone, or UTC should theirs be unknown here."""
    try:
        return validation.clean_time_zone(user.time_zone)
    except InvalidInput:
        return "UTC"


# --- Output ---------------------------------------------------------------------------------


class ScheduledConversationOut(serializers.Serializer):
    id = serializers.UUIDField()
    type = serializers.CharField()
    name = serializers.CharField(help_text="Its title, or the other members' names.")


class ScheduledOut(serializers.Serializer):
    id = serializers.UUIDField(help_text="Also the sent message's client_id.")
    conversation = ScheduledConversationOut()
    content = serializers.CharField()
    send_at = DateTimeOut(help_text="The instant, in UTC.")
    time_zone = serializers.CharField()
    send_at_local = serializers.CharField(
        help_text="send_at in time_zone, ISO-8601 with its offset."
    )
    state = serializers.ChoiceField(choices=ScheduledState.choices)
    failure = serializers.CharField(help_text="Why it was not sent (state failed), else empty.")
    message_id = serializers.UUIDField(allow_null=True, help_text="The sent message.")
    message_seq = serializers.IntegerField(allow_null=True)
    created_at = DateTimeOut()
    updated_at = DateTimeOut()

    def to_representation(self, scheduled: ScheduledMessage):
        names = self.context.get("names") or {}
        return scheduled_payload(scheduled, name=names.get(scheduled.conversation_id, ""))


class ScheduledListOut(serializers.Serializer):
    scheduled_messages = ScheduledOut(many=True)


def _valid(serializer_class, request, **context):
    serializer = serializer_class(data=request.data, context={"user": request.user, **context})
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


def _one(request, scheduled, *, status_code=status.HTTP_200_OK) -> Response:
    scheduled = selectors.scheduled_for(request.user, scheduled.pk)
    names = selectors.conversation_names(request.user, [scheduled.conversation])
    return Response(ScheduledOut(scheduled, context={"names": names}).data, status=status_code)


# --- Views ----------------------------------------------------------------------------------


class ScheduledListView(ParleyAPIView):
    @extend_schema(
        operation_id="scheduled_messages_list",
        responses={200: ScheduledListOut, **_errors(401)},
        description="Your scheduled messages: those waiting, soonest first, then your latest "
        "sent, failed and cancelled ones.",
    )
    def get(self, request):
        rows = selectors.scheduled_of(request.user)
        names = selectors.conversation_names(
            request.user, list({s.conversation_id: s.conversation for s in rows}.values())
        )
        out = ScheduledOut(rows, many=True, context={"names": names})
        return Response({"scheduled_messages": out.data})

    @extend_schema(
        operation_id="scheduled_messages_create",
        request=ScheduledCreateIn,
        responses={201: ScheduledOut, **_errors(400, 401, 403, 404, 409, 429)},
        description="Schedule a message for a conversation you may post in now.",
    )
    def post(self, request):
        data = _valid(ScheduledCreateIn, request, always_zone=True)
        ratelimit.spend_send(request.user)
        scheduled = services.schedule_message(
            author=request.user,
            conversation_id=data["conversation_id"],
            content=data["content"],
            send_at=data["send_at"],
            time_zone=data["time_zone"],
        )
        return _one(request, scheduled, status_code=status.HTTP_201_CREATED)


class ScheduledDetailView(ParleyAPIView):
    @extend_schema(
        operation_id="scheduled_messages_retrieve",
        responses={200: ScheduledOut, **_errors(401, 404)},
    )
    def get(self, request, scheduled_id):
        return _one(request, selectors.scheduled_for(request.user, scheduled_id))

    @extend_schema(
        operation_id="scheduled_messages_edit",
        request=ScheduledEditIn,
        responses={200: ScheduledOut, **_errors(400, 401, 403, 404, 409, 429)},
        description="Change the text or the time of a message still waiting.",
    )
    def patch(self, request, scheduled_id):
        stored = selectors.scheduled_for(request.user, scheduled_id)
        data = _valid(ScheduledEditIn, request, stored_zone=stored.time_zone)
        ratelimit.spend_send(request.user)
        scheduled = services.edit_scheduled(
            author=request.user,
            scheduled_id=scheduled_id,
            content=data.get("content"),
            send_at=data.get("send_at"),
            time_zone=data.get("time_zone"),
        )
        return _one(request, scheduled)

    @extend_schema(
        operation_id="scheduled_messages_cancel",
        responses={
            200: OpenApiResponse(ScheduledOut, description="Cancelled: state cancelled."),
            **_errors(401, 404, 409),
        },
        description="Cancel a message still waiting.",
    )
    def delete(self, request, scheduled_id):
        scheduled = services.cancel_scheduled(author=request.user, scheduled_id=scheduled_id)
        return _one(request, scheduled)


urlpatterns = [
    path("scheduled-messages/", ScheduledListView.as_view(), name="api-scheduled-messages"),
    path(
        "scheduled-messages/<uuid:scheduled_id>/",
        ScheduledDetailView.as_view(),
        name="api-scheduled-message",
    ),
]
