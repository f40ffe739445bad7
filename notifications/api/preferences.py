"""The notifications part of the REST API: a person's preferences (with the
time zone they are read in) and conversation mutes. Thin views over
``notifications.services`` and ``notifications.selectors``, in the
conventions of ``messaging.api`` (JSON only, token or session, one error
shape, a schema that states what is enforced).

The services refuse with Django's ``ValidationError`` naming each field;
here that becomes the API's ``400 invalid`` with the fields under
``fields``, in the API's own field names.
"""

import datetime as dt
import re
from collections.abc import Iterator
from contextlib import contextmanager

from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.response import Response

from accounts import services as account_services
from messaging.api.serializers import AwareDateTimeField, DateTimeOut, ErrorOut, InputSerializer
from messaging.api.views import ParleyAPIView
from notifications import selectors, services
from notifications.models import Channel, DigestFrequency, Kind, default_kinds
from notifications.services.preferences import clean_kinds

# --- Fields -------------------------------------------------------------------


class StrictBooleanField(serializers.BooleanField):
    """``true`` or ``false`` only: DRF's field also takes ``"yes"``, ``1`` ..."""

    def to_internal_value(self, data):
        if not isinstance(data, bool):
            self.fail("invalid", input=data)
        return data


class StrictIntegerField(serializers.IntegerField):
    """A JSON integer only: DRF's field also takes ``"5"`` and ``5.0``."""

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("invalid")
        return super().to_internal_value(data)


LOCAL_TIME_PATTERN = "^([01][0-9]|2[0-3]):[0-5][0-9]$"
_LOCAL_TIME = re.compile(LOCAL_TIME_PATTERN.strip("^$"))


@extend_schema_field(
    {
        "type": "string",
        "pattern": LOCAL_TIME_PATTERN,
        "description": "A local time of day, HH:MM (24-hour), in the person's time zone.",
    }
)
class LocalTimeField(serializers.Field):
    def to_internal_value(self, data):
        if not isinstance(data, str) or not _LOCAL_TIME.fullmatch(data):
            raise serializers.ValidationError(_("A time of day as HH:MM, 00:00 to 23:59."))
        hour, minute = data.split(":")
        return dt.time(int(hour), int(minute))

    def to_representation(self, value):
        return value.strftime("%H:%M")


def _kinds_schema() -> dict:
    channels = {
        "type": "object",
        "properties": {channel: {"type": "boolean"} for channel in Channel.values},
        "additionalProperties": False,
    }
    return {
        "type": "object",
        "properties": {kind: channels for kind in Kind.values},
        "additionalProperties": False,
        "description": "Each kind of notification (direct, group, mention, support, added) "
        "to the channels it reaches you by (in_app, push, email). A PATCH may name only "
        "some kinds and channels; the rest stay.",
    }


@extend_schema_field(_kinds_schema())
class KindsField(serializers.Field):
    """The kinds map, checked by ``services.preferences.clean_kinds``."""

    def to_internal_value(self, data):
        try:
            return clean_kinds(data)
        except DjangoValidationError as error:
            raise serializers.ValidationError(error.message_dict["kinds"]) from None

    def to_representation(self, value):
        return value


@extend_schema_field(
    {
        "type": "string",
        "format": "date-time",
        "nullable": True,
        "description": "When the mute ends (with its UTC offset, in the future); "
        "null: until you turn it back on.",
    }
)
class MuteUntilField(AwareDateTimeField):
    """``AwareDateTimeField``, described as a mute's end."""


# --- Serializers -------------------------------------------------------------


class QuietHours(serializers.Serializer):
    start = LocalTimeField()
    end = LocalTimeField(help_text="May be before start: 22:00 to 07:00 spans midnight.")


class PreferencesIn(InputSerializer):
    # Every field may be left out: it keeps its value.
    email_enabled = StrictBooleanField(required=False, help_text="Email for every kind.")
    push_enabled = StrictBooleanField(required=False, help_text="Push for every kind.")
    push_show_content = StrictBooleanField(
        required=False, help_text="false: lock screens show the sender only, not the text."
    )
    kinds = KindsField(required=False)
    quiet_hours = QuietHours(
        required=False,
        allow_null=True,
        help_text="Start and end differ; null clears them. Held notifications go out when "
        "they end.",
    )
    digest = serializers.ChoiceField(choices=DigestFrequency.choices, required=False)
    digest_hour = StrictIntegerField(min_value=0, max_value=23, required=False)
    digest_weekday = StrictIntegerField(
        min_value=0, max_value=6, required=False, help_text="For a weekly digest: 0 is Monday."
    )
    time_zone = serializers.ChoiceField(
        choices=account_services.time_zone_names(),
        required=False,
        help_text="An IANA time zone name; quiet hours and the digest hour are read in it.",
    )


class PreferencesOut(serializers.Serializer):
    email_enabled = serializers.BooleanField()
    push_enabled = serializers.BooleanField()
    push_show_content = serializers.BooleanField()
    kinds = KindsField()
    quiet_hours = QuietHours(allow_null=True)
    digest = serializers.ChoiceField(choices=DigestFrequency.choices)
    digest_hour = serializers.IntegerField(min_value=0, max_value=23)
    digest_weekday = serializers.IntegerField(min_value=0, max_value=6)
    time_zone = serializers.CharField()

    def to_representation(self, preference):
        stored = preference.kinds or {}
        kinds = {
            kind: {**channels, **stored.get(kind, {})} for kind, channels in default_kinds().items()
        }
        start, end = preference.quiet_hours_start, preference.quiet_hours_end
        return {
            "email_enabled": preference.email_enabled,
            "push_enabled": preference.push_enabled,
            "push_show_content": preference.push_show_content,
            "kinds": kinds,
            "quiet_hours": (
                {"start": start.strftime("%H:%M"), "end": end.strftime("%H:%M")}
                if start is not None and end is not None
                else None
            ),
            "digest": preference.digest,
            "digest_hour": preference.digest_hour,
            "digest_weekday": preference.digest_weekday,
            "time_zone": preference.user.time_zone,
        }


class MuteIn(InputSerializer):
    until = MuteUntilField(allow_null=True)


class MuteOut(serializers.Serializer):
    conversation_id = serializers.UUIDField()
    until = DateTimeOut(allow_null=True, help_text="null: muted until unmuted.")

    def to_representation(self, mute):
        return {
            "conversation_id": str(mute.conversation_id),
            "until": mute.until.isoformat() if mute.until else None,
        }


# --- Views -------------------------------------------------------------------

# The services name quiet hours by column; the API has them as one object.
_API_FIELD = {"quiet_hours_start": "quiet_hours", "quiet_hours_end": "quiet_hours"}


@contextmanager
def _refusals_as_api_errors() -> Iterator[None]:
    try:
        yield
    except DjangoValidationError as error:
        fields: dict[str, list[str]] = {}
        for name, messages in error.message_dict.items():
            fields.setdefault(_API_FIELD.get(name, name), []).extend(messages)
        raise serializers.ValidationError(fields) from None


def _errors(*codes: int) -> dict:
    described = {
        400: "invalid, with the refused fields under fields",
        401: "not authenticated",
        404: "no such conversation, or you are not a member of it",
    }
    return {code: OpenApiResponse(ErrorOut, description=described[code]) for code in codes}


def _valid(serializer_class, data) -> dict:
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


class PreferencesView(ParleyAPIView):
    @extend_schema(
        operation_id="notification_preferences",
        responses={200: PreferencesOut, **_errors(401)},
        description="Your notification preferences (the defaults until you change one) "
        "and your time zone.",
    )
    def get(self, request):
        preference = selectors.preferences_for(request.user)
        return Response(PreferencesOut(preference).data)

    @extend_schema(
        operation_id="notification_preferences_update",
        request=PreferencesIn,
        responses={200: PreferencesOut, **_errors(400, 401)},
        description="Change some preferences: fields left out keep their value.",
    )
    def patch(self, request):
        data = dict(_valid(PreferencesIn, request.data))
        if "quiet_hours" in data:
            hours = data.pop("quiet_hours")
            data["quiet_hours_start"] = hours["start"] if hours else None
            data["quiet_hours_end"] = hours["end"] if hours else None
        with _refusals_as_api_errors():
            preference = services.update_preferences(user=request.user, **data)
        return Response(PreferencesOut(preference).data)


class MuteView(ParleyAPIView):
    @extend_schema(
        operation_id="conversation_mute",
        request=MuteIn,
        responses={200: MuteOut, **_errors(400, 401, 404)},
        description="Mute a conversation's notifications to you, until a time or "
        "(until null) until you unmute it; replaces an earlier mute.",
    )
    def put(self, request, conversation_id):
        data = _valid(MuteIn, request.data)
        with _refusals_as_api_errors():
            mute = services.mute_conversation(
                user=request.user, conversation_id=conversation_id, until=data["until"]
            )
        return Response(MuteOut(mute).data)

    @extend_schema(
        operation_id="conversation_unmute",
        responses={204: None, **_errors(401, 404)},
        description="Unmute: the conversation notifies you again. Harmless if not muted.",
    )
    def delete(self, request, conversation_id):
        services.unmute_conversation(user=request.user, conversation_id=conversation_id)
        return Response(status=status.HTTP_204_NO_CONTENT)
