"""The incoming webhooks' REST API (docs/api.md, Incoming webhooks): list
and create a conversation's webhooks, revoke one. Errors are the services'
(``invalid`` 400, ``forbidden`` 403, ``not_found`` 404), shaped by
``messaging.api.errors``."""

from django.urls import path, reverse
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response

from messaging.api.serializers import DateTimeOut, ErrorOut, InputSerializer
from messaging.api.serializers import TextField as StrictText
from messaging.api.views import ParleyAPIView
from messaging.integrations.models import IncomingWebhook
from messaging.integrations.webhooks import selectors
from messaging.integrations.webhooks.services import incoming
from messaging.realtime import ratelimit

_ERRORS = {
    400: "invalid: a name that is empty or too long, or a conversation that is not a group",
    401: "not authenticated",
    403: "forbidden: a member who is not a mentor or admin managing the conversation",
    404: "not_found: no such conversation or webhook, or one you may not see or manage",
    409: "too_many_bots: a mentor with BOTS_MAX_PER_OWNER active bots (a webhook is one) "
    "creating another",
    429: "rate_limited: creating and revoking webhooks spend from the sends' bucket",
}


def _errors(*codes: int) -> dict:
    return {code: OpenApiResponse(ErrorOut, description=_ERRORS[code]) for code in codes}


class WebhookOut(serializers.Serializer):
    id = serializers.UUIDField()
    name = serializers.CharField()
    conversation_id = serializers.UUIDField()
    bot_id = serializers.UUIDField()
    created_by = serializers.UUIDField(allow_null=True)
    created_at = DateTimeOut()
    last_used_at = DateTimeOut(allow_null=True)
    revoked_at = DateTimeOut(allow_null=True)

    def to_representation(self, webhook: IncomingWebhook):
        def iso(value):
            return value.isoformat() if value else None

        return {
            "id": str(webhook.pk),
            "name": webhook.name,
            "conversation_id": str(webhook.conversation_id),
            "bot_id": str(webhook.bot_id),
            "created_by": str(webhook.created_by_id) if webhook.created_by_id else None,
            "created_at": iso(webhook.created_at),
            "last_used_at": iso(webhook.last_used_at),
            "revoked_at": iso(webhook.revoked_at),
        }


class WebhookListOut(serializers.Serializer):
    webhooks = WebhookOut(many=True)


class WebhookCreatedOut(WebhookOut):
    url = serializers.URLField(help_text="The webhook's secret URL: shown this once.")


class WebhookCreateIn(InputSerializer):
    name = StrictText(trim_whitespace=False)


class ConversationWebhooksView(ParleyAPIView):
    @extend_schema(
        operation_id="conversation_webhooks_list",
        responses={200: WebhookListOut, **_errors(401, 403, 404)},
        description="The conversation's incoming webhooks, revoked ones included, for "
        "those who manage it. Their URLs are never shown again.",
    )
    def get(self, request, conversation_id):
        webhooks = selectors.conversation_webhooks(request.user, conversation_id)
        return Response({"webhooks": WebhookOut(webhooks, many=True).data})

    @extend_schema(
        operation_id="conversation_webhooks_create",
        request=WebhookCreateIn,
        responses={201: WebhookCreatedOut, **_errors(400, 401, 403, 404, 409, 429)},
        description="Create an incoming webhook posting into this group as a new bot "
        "named as the webhook (it joins the group). Its secret URL is shown this once.",
    )
    def post(self, request, conversation_id):
        serializer = WebhookCreateIn(data=request.data)
        serializer.is_valid(raise_exception=True)
        # A webhook is a bot (an account) and an audit row: from the sends' bucket.
        ratelimit.spend_send(request.user)
        issued = incoming.create_incoming_webhook(
            actor=request.user,
            conversation_id=conversation_id,
            name=serializer.validated_data["name"],
        )
        url = request.build_absolute_uri(reverse("incoming-webhook", args=[issued.token]))
        out = {**WebhookOut(issued.webhook).data, "url": url}
        return Response(out, status=status.HTTP_201_CREATED)


class WebhookDetailView(ParleyAPIView):
    @extend_schema(
        operation_id="webhooks_revoke",
        responses={204: None, **_errors(401, 404, 429)},
        description="Revoke the webhook: its URL answers 404 from now on and its bot is "
        "deactivated (its messages stay). Revoking again answers 204 too.",
    )
    def delete(self, request, webhook_id):
        ratelimit.spend_send(request.user)
        incoming.revoke_incoming_webhook(actor=request.user, webhook_id=webhook_id)
        return Response(status=status.HTTP_204_NO_CONTENT)


urlpatterns = [
    path(
        "conversations/<uuid:conversation_id>/webhooks/",
        ConversationWebhooksView.as_view(),
        name="api-conversation-webhooks",
    ),
    path("webhooks/<uuid:webhook_id>/", WebhookDetailView.as_view(), name="api-webhook"),
]
