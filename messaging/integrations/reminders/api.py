"""The reminders' REST API (docs/api.md, "Reminders and the calendar
feed"): list and set, read, snooze, cancel. Thin: parse, one service or
selector call, the JSON shape of ``reminder_payload``."""

import datetime as dt

from django.urls import path
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response

from accounts.models import User
from messaging import selectors as messaging_selectors
from messaging.api import serializers as s
from messaging.api.views import ParleyAPIView, _errors, _valid
from messaging.errors import InvalidInput
from messaging.integrations.models import Reminder
from messaging.integrations.reminders import presets, selectors, services
from messaging.realtime import ratelimit


def _iso(value: dt.datetime | None) -> str | None:
    return value.isoformat() if value else None


def _readable_conversations(user: User, reminders: list[Reminder]) -> dict:
    """Of the reminders' conversations, those the person is a member of now,
    each with what they call it (a direct one: the other person's name)."""
    ids = messaging_selectors.member_of(user, {r.message.conversation_id for r in reminders})
    conversations = {
        r.message.conversation_id: r.message.conversation
        for r in reminders
        if r.message.conversation_id in ids
    }
    return messaging_selectors.conversation_names(user, list(conversations.values()))


def reminder_payload(reminder: Reminder, *, readable: dict) -> dict:
    """A reminder as the API and the page show it. The message's excerpt
    and link only while the person may read it (``readable``: those
    conversations, by what the person calls them)."""
    message = reminder.message
    shown = (
        message.conversation_id in readable
        and message.deleted_at is None
        and message.hidden_at is None
    )
    return {
        "id": str(reminder.pk),
        "state": reminder.state,
        "remind_at": _iso(reminder.remind_at),
        "fired_at": _iso(reminder.fired_at),
        "note": reminder.note,
        "message_id": str(reminder.message_id),
        "conversation_id": str(message.conversation_id) if shown else None,
        "conversation_title": readable[message.conversation_id] if shown else "",
        "excerpt": services.notification_data(reminder, readable=True)["excerpt"]
        if shown
        else None,
        "url": f"/c/{message.conversation_id}/#seq-{message.seq}" if shown else None,
        "created_at": _iso(reminder.created_at),
    }


def _one(reminder: Reminder, user: User) -> dict:
    return reminder_payload(reminder, readable=_readable_conversations(user, [reminder]))


class _TimeFields(s.InputSerializer):
    remind_at = s.AwareDateTimeField(
        required=False, help_text="ISO 8601 with an offset or Z, in the future."
    )
    preset = serializers.ChoiceField(
        required=False,
        choices=list(presets.PRESETS),
        help_text="Computed in time_zone if given, else in your time zone (User.time_zone).",
    )
    time_zone = serializers.CharField(
        required=False,
        max_length=64,
        help_text="An IANA time zone name (Europe/Madrid) whose clocks a preset is read on.",
    )


class ReminderIn(_TimeFields):
    message_id = s.UUIDField()
    note = serializers.CharField(
        required=False, allow_blank=True, max_length=services.NOTE_MAX_CHARS, default=""
    )


class ReminderPatchIn(_TimeFields):
    note = serializers.CharField(
        required=False, allow_blank=True, max_length=services.NOTE_MAX_CHARS
    )


class ReminderOut(serializers.Serializer):
    id = serializers.UUIDField()
    state = serializers.ChoiceField(choices=["pending", "fired"])
    remind_at = s.DateTimeOut()
    fired_at = s.DateTimeOut(allow_null=True)
    note = serializers.CharField()
    message_id = serializers.UUIDField()
    conversation_id = serializers.UUIDField(allow_null=True)
    conversation_title = serializers.CharField()
    excerpt = serializers.CharField(allow_null=True)
    url = serializers.CharField(allow_null=True)
    created_at = s.DateTimeOut()


class ReminderListOut(serializers.Serializer):
    reminders = ReminderOut(many=True)
    presets = serializers.DictField(child=serializers.CharField())


def _times(data: dict) -> dict:
    if "remind_at" in data and "preset" in data:
        raise InvalidInput(_("Give either remind_at or preset, not both."))
    return {
        "remind_at": data.get("remind_at"),
        "preset": data.get("preset"),
        "time_zone": data.get("time_zone"),
    }


class ReminderListView(ParleyAPIView):
    @extend_schema(
        operation_id="reminders_list",
        responses={200: ReminderListOut, **_errors(401)},
        description="Your pending and fired reminders, soonest first, and the presets "
        "(name -> label) a new one may use.",
    )
    def get(self, request):
        reminders = list(selectors.reminders_of(request.user))
        readable = _readable_conversations(request.user, reminders)
        return Response(
            {
                "reminders": [reminder_payload(r, readable=readable) for r in reminders],
                "presets": {name: str(label) for name, label in presets.PRESETS.items()},
            }
        )

    @extend_schema(
        operation_id="reminders_create",
        request=ReminderIn,
        responses={201: ReminderOut, **_errors(400, 401, 404, 409, 429)},
        description="Remind yourself of a message you can read, at remind_at or a preset. "
        "404: no such message or not yours to read; 409 hidden.",
    )
    def post(self, request):
        ratelimit.spend_send(request.user)
        data = _valid(ReminderIn, request.data)
        reminder = services.create_reminder(
            user=request.user, message_id=data["message_id"], note=data["note"], **_times(data)
        )
        return Response(_one(reminder, request.user), status=status.HTTP_201_CREATED)


class ReminderDetailView(ParleyAPIView):
    @extend_schema(
        operation_id="reminders_retrieve",
        responses={200: ReminderOut, **_errors(401, 404)},
    )
    def get(self, request, reminder_id):
        return Response(_one(selectors.reminder_of(request.user, reminder_id), request.user))

    @extend_schema(
        operation_id="reminders_snooze",
        request=ReminderPatchIn,
        responses={200: ReminderOut, **_errors(400, 401, 404, 409, 429)},
        description="Snooze (remind_at or preset: pending again at the new time) and/or "
        "change the note.",
    )
    def patch(self, request, reminder_id):
        ratelimit.spend_send(request.user)
        data = _valid(ReminderPatchIn, request.data)
        reminder = services.snooze_reminder(
            user=request.user, reminder_id=reminder_id, note=data.get("note"), **_times(data)
        )
        return Response(_one(reminder, request.user))

    @extend_schema(
        operation_id="reminders_cancel",
        responses={204: None, **_errors(401, 404, 429)},
        description="Cancel (harmless when cancelled already).",
    )
    def delete(self, request, reminder_id):
        ratelimit.spend_send(request.user)
        services.cancel_reminder(user=request.user, reminder_id=reminder_id)
        return Response(status=status.HTTP_204_NO_CONTENT)


urlpatterns = [
    path("reminders/", ReminderListView.as_view(), name="api-reminders"),
    path("reminders/<uuid:reminder_id>/", ReminderDetailView.as_view(), name="api-reminder"),
]
