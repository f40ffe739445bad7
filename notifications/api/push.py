"""The push subscription API (``/api/push/…``): thin views over
``notifications.services.push`` and ``notifications.selectors.push``, with
messaging's API conventions (token or session, JSON only, one error shape,
``messaging.api.errors``)."""

import re

from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.response import Response

from messaging.api.serializers import DateTimeOut, ErrorOut, InputSerializer
from messaging.api.views import ParleyAPIView
from messaging.errors import MessagingError
from notifications import vapid
from notifications.selectors import push as selectors
from notifications.services import push as services

# Base64url, padded or not: 65 bytes (an uncompressed P-256 point) and 16 bytes.
P256DH_PATTERN = "^[A-Za-z0-9_-]{87}=?$"
AUTH_PATTERN = "^[A-Za-z0-9_-]{22}(==)?$"
# Printable ASCII without spaces, as browsers give it; the service then
# checks the scheme and host (https to a public host).
ENDPOINT_PATTERN = "^https?://[!-~]+$"


class PushUnavailable(MessagingError):
    code = "push_unavailable"
    http_status = 404


def _pattern_field(pattern: str, max_length: int | None = None) -> type[serializers.CharField]:
    schema: dict = {"type": "string", "pattern": pattern}
    if max_length:
        schema["maxLength"] = max_length
    compiled = re.compile(pattern.replace("$", r"\Z"))

    @extend_schema_field(schema)
    class PatternField(serializers.CharField):
        def __init__(self, **kwargs):
            kwargs.setdefault("trim_whitespace", False)
            if max_length:
                kwargs.setdefault("max_length", max_length)
            super().__init__(**kwargs)

        def to_internal_value(self, data):
            value = super().to_internal_value(data)
            if not compiled.match(value):
                raise serializers.ValidationError(
                    _("Must match %(pattern)s.") % {"pattern": pattern}
                )
            return value

    return PatternField


EndpointField = _pattern_field(ENDPOINT_PATTERN, services.MAX_ENDPOINT_CHARS)
P256dhField = _pattern_field(P256DH_PATTERN)
AuthField = _pattern_field(AUTH_PATTERN)


class PushKeysIn(InputSerializer):
    p256dh = P256dhField(help_text="The browser's P-256 public key, base64url (65 bytes).")
    auth = AuthField(help_text="The browser's authentication secret, base64url (16 bytes).")


class PushSubscriptionIn(InputSerializer):
    """What ``PushSubscription.toJSON()`` gives in the browser
    (``expirationTime`` is ignored)."""

    endpoint = EndpointField(help_text="The push service URL: https to a public host.")
    keys = PushKeysIn()
    expirationTime = serializers.IntegerField(  # noqa: N815 (the browser's name)
        required=False, allow_null=True, min_value=0, write_only=True
    )


class PushSubscriptionOut(serializers.Serializer):
    id = serializers.UUIDField()
    endpoint = serializers.CharField()
    device_name = serializers.CharField(help_text='From the User-Agent, e.g. "Chrome on Linux".')
    created_at = DateTimeOut()
    last_success_at = DateTimeOut(allow_null=True)


class PushSubscriptionListOut(serializers.Serializer):
    subscriptions = PushSubscriptionOut(many=True)


class VapidKeyOut(serializers.Serializer):
    public_key = serializers.CharField(
        help_text="The applicationServerKey for pushManager.subscribe(): base64url, 65 bytes."
    )


def _error(description: str) -> OpenApiResponse:
    return OpenApiResponse(ErrorOut, description=description)


class PushSubscriptionListView(ParleyAPIView):
    @extend_schema(
        operation_id="push_subscriptions_list",
        responses={200: PushSubscriptionListOut, 401: _error("not authenticated")},
        description="Your push devices, newest first.",
    )
    def get(self, request):
        rows = selectors.subscriptions_of(request.user)
        return Response({"subscriptions": PushSubscriptionOut(rows, many=True).data})

    @extend_schema(
        operation_id="push_subscriptions_create",
        request=PushSubscriptionIn,
        responses={
            201: PushSubscriptionOut,
            200: OpenApiResponse(
                PushSubscriptionOut,
                description="This endpoint was subscribed before: updated (and now yours).",
            ),
            400: _error(
                "invalid: a field, an endpoint that is not https to a public host, "
                "or keys that are not a P-256 key and a 16-byte secret"
            ),
            401: _error("not authenticated"),
        },
        description="Register this browser's push subscription.",
    )
    def post(self, request):
        serializer = PushSubscriptionIn(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        subscription, created = services.subscribe(
            user=request.user,
            endpoint=data["endpoint"],
            p256dh=data["keys"]["p256dh"],
            auth=data["keys"]["auth"],
            user_agent=request.headers.get("User-Agent", ""),
            # Through a session, its end ends the subscription; a token's
            # subscriptions end with the token's owner's password.
            session_key="" if request.auth is not None else request.session.session_key or "",
        )
        return Response(
            PushSubscriptionOut(subscription).data,
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )


class PushSubscriptionDetailView(ParleyAPIView):
    @extend_schema(
        operation_id="push_subscriptions_delete",
        responses={
            204: None,
            401: _error("not authenticated"),
            404: _error("no such push subscription of yours"),
        },
        description="Forget one of your push devices.",
    )
    def delete(self, request, subscription_id):
        services.unsubscribe(user=request.user, subscription_id=subscription_id)
        return Response(status=status.HTTP_204_NO_CONTENT)


class VapidPublicKeyView(ParleyAPIView):
    @extend_schema(
        operation_id="push_vapid_public_key",
        responses={
            200: VapidKeyOut,
            401: _error("not authenticated"),
            404: _error("push_unavailable: this server has no VAPID key"),
        },
        description="The server's VAPID public key, to subscribe with.",
    )
    def get(self, request):
        try:
            key = vapid.public_key()
        except vapid.PushNotConfigured:
            raise PushUnavailable(_("Push notifications are not set up on this server.")) from None
        return Response({"public_key": key})
