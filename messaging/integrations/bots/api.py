"""The bots' REST API (docs/api.md, Bots): thin views over ``services``
and ``selectors``. Errors are the services' (``invalid`` 400, ``forbidden``
403, ``not_found`` 404), shaped by ``messaging.api.errors``."""

from django.urls import path
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response

from messaging.api.serializers import DateTimeOut, ErrorOut, InputSerializer
from messaging.api.serializers import TextField as StrictText
from messaging.api.views import ParleyAPIView
from messaging.integrations.bots import selectors, services
from messaging.integrations.models import Bot, BotKind
from messaging.realtime import ratelimit

_ERRORS = {
    400: "invalid: a display name that is empty or too long, an unknown kind, an "
    "outgoing URL that is refused (not http(s), a private, local or metadata address, "
    "a port other than 80 or 443), or a deactivated bot's token",
    401: "not authenticated",
    403: "forbidden: a student (only mentors and admins create bots), an assistant bot "
    "or instructions by someone who is not an admin",
    404: "not_found: no such bot, or one you do not manage",
    409: "too_many_bots: a mentor with BOTS_MAX_PER_OWNER active bots (incoming webhooks' "
    "included) creating another",
    429: "rate_limited: creating, changing, rotating and deactivating bots spend from the "
    "sends' bucket",
}


def _errors(*codes: int) -> dict:
    return {code: OpenApiResponse(ErrorOut, description=_ERRORS[code]) for code in codes}


class BotOut(serializers.Serializer):
    id = serializers.UUIDField()
    display_name = serializers.CharField()
    kind = serializers.ChoiceField(choices=BotKind.choices)
    owner = serializers.DictField()
    outgoing_url = serializers.CharField()
    is_active = serializers.BooleanField()
    created_at = DateTimeOut()
    deliveries = serializers.IntegerField()

    def to_representation(self, bot: Bot):
        return {
            "id": str(bot.pk),
            "display_name": bot.user.display_name,
            "kind": bot.kind,
            "owner": {"id": str(bot.owner_id), "display_name": bot.owner.display_name},
            "outgoing_url": bot.outgoing_url,
            "is_active": bot.user.is_active,
            "created_at": bot.created_at.isoformat(),
            "deliveries": getattr(bot, "delivery_count", 0),
        }


class BotListOut(serializers.Serializer):
    bots = BotOut(many=True)


class BotCreatedOut(BotOut):
    token = serializers.CharField(help_text="The bot's API token: shown this once.")
    signing_secret = serializers.CharField(
        help_text="The key of the outgoing requests' signatures: shown this once."
    )

    def to_representation(self, issued: services.IssuedBot):  # type: ignore[override]
        # Its instance is what create_bot returns: the bot, its token once.
        return {
            **BotOut(issued.bot).data,
            "token": issued.token,
            "signing_secret": issued.bot.signing_secret,
        }


class BotTokenOut(serializers.Serializer):
    token = serializers.CharField()
    signing_secret = serializers.CharField()


class BotCreateIn(InputSerializer):
    display_name = StrictText(trim_whitespace=False)
    kind = serializers.ChoiceField(choices=BotKind.choices, default=BotKind.WEBHOOK)
    outgoing_url = StrictText(required=False, allow_blank=True, default="", trim_whitespace=False)
    instructions = StrictText(required=False, allow_blank=True, default="", trim_whitespace=False)


class BotUpdateIn(InputSerializer):
    display_name = StrictText(required=False, trim_whitespace=False)
    outgoing_url = StrictText(required=False, allow_blank=True, trim_whitespace=False)
    instructions = StrictText(required=False, allow_blank=True, trim_whitespace=False)


def _valid(serializer_class, data):
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


class BotListView(ParleyAPIView):
    @extend_schema(
        operation_id="bots_list",
        responses={200: BotListOut, **_errors(401)},
        description="The bots you manage (your own; every bot for an admin).",
    )
    def get(self, request):
        return Response({"bots": BotOut(selectors.managed_bots(request.user), many=True).data})

    @extend_schema(
        operation_id="bots_create",
        request=BotCreateIn,
        responses={201: BotCreatedOut, **_errors(400, 401, 403, 409, 429)},
        description="Create a bot you own; its token and signing secret are shown this once.",
    )
    def post(self, request):
        data = _valid(BotCreateIn, request.data)
        # Each change is an audit row (and a bot an account): from the sends' bucket.
        ratelimit.spend_send(request.user)
        issued = services.create_bot(owner=request.user, **data)
        issued.bot.delivery_count = 0  # type: ignore[attr-defined]  # as the list annotates
        return Response(BotCreatedOut(issued).data, status=status.HTTP_201_CREATED)


class BotDetailView(ParleyAPIView):
    @extend_schema(operation_id="bots_retrieve", responses={200: BotOut, **_errors(401, 404)})
    def get(self, request, bot_id):
        return Response(BotOut(selectors.managed_bot(request.user, bot_id)).data)

    @extend_schema(
        operation_id="bots_update",
        request=BotUpdateIn,
        responses={200: BotOut, **_errors(400, 401, 403, 404, 429)},
        description="Change the fields given: display_name, outgoing_url (checked as at "
        "creation; empty: no outgoing calls), instructions (admins).",
    )
    def patch(self, request, bot_id):
        bot = selectors.managed_bot(request.user, bot_id)
        data = _valid(BotUpdateIn, request.data)
        ratelimit.spend_send(request.user)
        services.update_bot(actor=request.user, bot=bot, **data)
        return Response(BotOut(bot).data)

    @extend_schema(
        operation_id="bots_deactivate",
        responses={204: None, **_errors(401, 404, 429)},
        description="Deactivate the bot: its token is deleted, its sockets close, its "
        "incoming webhooks stop answering. Its messages stay.",
    )
    def delete(self, request, bot_id):
        bot = selectors.managed_bot(request.user, bot_id)
        ratelimit.spend_send(request.user)
        services.deactivate_bot(actor=request.user, bot=bot)
        return Response(status=status.HTTP_204_NO_CONTENT)


class BotTokenView(ParleyAPIView):
    @extend_schema(
        operation_id="bots_token_rotate",
        request=None,
        responses={200: BotTokenOut, **_errors(400, 401, 404, 429)},
        description="Replace the bot's API token and signing secret; the new ones are "
        "shown this once. The old token stops working and the bot's sockets close.",
    )
    def post(self, request, bot_id):
        bot = selectors.managed_bot(request.user, bot_id)
        ratelimit.spend_send(request.user)
        token = services.rotate_token(actor=request.user, bot=bot)
        return Response({"token": token, "signing_secret": bot.signing_secret})


urlpatterns = [
    path("bots/", BotListView.as_view(), name="api-bots"),
    path("bots/<uuid:bot_id>/", BotDetailView.as_view(), name="api-bot"),
    path("bots/<uuid:bot_id>/token/", BotTokenView.as_view(), name="api-bot-token"),
]
