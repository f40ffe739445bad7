"""The incoming webhooks' public endpoint: ``POST /hooks/<token>``.

No session, no CSRF token: the URL's secret token is the credential. The
answers are JSON (docs/integrations/webhooks-and-bots.md):

* 200 ``{"ok": true, "message_id": "..."}``, the message posted;
* 404 for a token that names no live webhook (unknown, revoked, its bot
  deactivated): nothing is read or stored;
* 413 for a body over ``PARLEY_INCOMING_WEBHOOK_MAX_BYTES``;
* 429 (``Retry-After``) past the webhook's own rate;
* 400 for a body that is not a JSON object with a non-empty ``text``;
* what the send refuses (403 the bot may not post there, 409 archived,
  422 blocked by the content filter), with the API's error codes.

Errors are ``{"ok": false, "error": {"code": "...", "message": "..."}}``.
"""

import json
import math

from django.conf import settings
from django.http import JsonResponse
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from messaging.errors import MessagingError, RateLimited
from messaging.integrations.webhooks import selectors
from messaging.integrations.webhooks.services import incoming
from messaging.limits import SendAllowance
from messaging.realtime import ratelimit


def _error(status: int, code: str, message: str, **headers: str) -> JsonResponse:
    response = JsonResponse(
        {"ok": False, "error": {"code": code, "message": message}}, status=status
    )
    for name, value in headers.items():
        response[name] = value
    return response


def _body(request, limit: int) -> bytes | None:
    """The body, or None when it is longer than ``limit`` bytes (read no
    further than one byte past it)."""
    declared = request.META.get("CONTENT_LENGTH")
    if declared and declared.isdigit() and int(declared) > limit:
        return None
    body = request.read(limit + 1)
    return None if len(body) > limit else body


@csrf_exempt
@require_POST
def incoming_webhook(request, token: str):
    webhook = selectors.webhook_for_token(token)
    if webhook is None:
        return _error(404, "not_found", _("No such webhook."))
    limit = int(settings.PARLEY_INCOMING_WEBHOOK_MAX_BYTES)
    body = _body(request, limit)
    if body is None:
        return _error(
            413, "too_large", _("The body has at most %(count)s bytes.") % {"count": limit}
        )
    try:
        ratelimit.take_sync(
            webhook.pk,
            kind="webhook",
            allowance=SendAllowance(
                rate=float(settings.PARLEY_INCOMING_WEBHOOK_PER_SECOND),
                burst=int(settings.PARLEY_INCOMING_WEBHOOK_BURST),
            ),
        )
    except RateLimited as error:
        return _error(
            429,
            error.code,
            error.message,
            **{"Retry-After": str(max(1, math.ceil(error.retry_after or 1)))},
        )
    try:
        payload = json.loads(body)
    except (ValueError, RecursionError):
        return _error(400, "invalid", _("The body is not JSON."))
    try:
        message = incoming.post_incoming(
            webhook=webhook,
            payload=payload,
            idempotency_key=request.headers.get("Idempotency-Key"),
        )
    except MessagingError as error:
        return _error(error.http_status, error.code, error.message)
    return JsonResponse({"ok": True, "message_id": str(message.pk)})
