"""One error shape for the whole API, the socket's codes:
``{"error": {"code": "...", "message": "..."}}``, always as JSON (whatever
the client's ``Accept`` asked for).

Messaging errors keep their ``code`` and ``http_status``; DRF's validation
errors become ``invalid`` (with the per-field details under ``fields``), or
``too_long`` when the first refused field was refused for that (the input
fields parse with ``messaging.validation``, which says so);
DRF's own exceptions (authentication, permission, throttling, parsing,
method, media type) keep their status and headers (``WWW-Authenticate``,
``Retry-After``, ``Allow``) and take the same shape. Django's request limits
answer ``413 too_large`` (body size) and ``400 invalid`` (number of query
parameters) rather than its HTML 400 page; anything unexpected is logged as
Django logs it and answers ``500 internal``.
"""

import logging
import math
from contextlib import nullcontext
from typing import Any

from django.conf import settings
from django.core import signals
from django.core.exceptions import (
    BadRequest,
    RequestDataTooBig,
    SuspiciousOperation,
    TooManyFieldsSent,
)
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404, JsonResponse
from django.utils import translation
from django.utils.log import log_response
from django.utils.translation import gettext as _
from django.views import defaults
from django.views.decorators.csrf import csrf_exempt
from rest_framework import exceptions, status
from rest_framework.authentication import TokenAuthentication
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler
from rest_framework.views import set_rollback

from accounts import locale
from config.database import DATABASE_FAULTS
from messaging.errors import MessagingError, Muted, RateLimited, ServiceUnavailable

# DRF's codes where the socket protocol names the same thing differently.
_DRF_CODES = {
    "permission_denied": "forbidden",
    "throttled": "rate_limited",
    "parse_error": "invalid",
}


def error_body(code: str, message: str, **extra) -> dict:
    return {"error": {"code": code, "message": message, **extra}}


def _retry_after(seconds: float) -> str:
    return str(max(1, math.ceil(seconds)))


# Codes of ``messaging.validation`` that the API reports as themselves.
_INPUT_CODES = {"too_long", "too_large"}


def _first_code(codes) -> str:
    """The first code in a (nested) DRF error's ``get_codes()``."""
    if isinstance(codes, dict):
        for value in codes.values():
            return _first_code(value)
    if isinstance(codes, list) and codes:
        return _first_code(codes[0])
    return codes if isinstance(codes, str) else "invalid"


def _first_message(detail) -> str:
    """The first human-readable message in a (nested) DRF error detail."""
    if isinstance(detail, dict):
        for field, value in detail.items():
            message = _first_message(value)
            if field == "non_field_errors":
                return message
            # Translators: a refused field's name (as the API spells it), then why.
            return _("%(field)s: %(message)s") % {"field": field, "message": message}
    if isinstance(detail, list) and detail:
        return _first_message(detail[0])
    return str(detail) or _("Invalid input.")


def _refused_request(exc: SuspiciousOperation | BadRequest) -> tuple[int, str, str]:
    """Status, code and message for a request Django refused while reading
    it: over one of its limits (``DATA_UPLOAD_MAX_MEMORY_SIZE`` for a body,
    ``DATA_UPLOAD_MAX_NUMBER_FIELDS`` for a query string), or malformed."""
    if isinstance(exc, RequestDataTooBig):
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        return 413, "too_large", _("A request body has at most %(count)s bytes.") % {"count": limit}
    if isinstance(exc, TooManyFieldsSent):
        limit = settings.DATA_UPLOAD_MAX_NUMBER_FIELDS
        message = _("A query string has at most %(count)s parameters.") % {"count": limit}
        return 400, "invalid", message
    return 400, "invalid", _("The request is malformed.")


def exception_handler(exc, context):
    if isinstance(exc, DATABASE_FAULTS):
        # Not a 500: config.middleware answers 503 unavailable with
        # Retry-After (docs/api.md), for pages and the API alike.
        return None
    request = context.get("request")
    if request is not None:
        # Errors are JSON even where the view also renders HTML (DRF's
        # browsable API) or YAML (the schema): clients read one shape.
        request.accepted_renderer = JSONRenderer()
        request.accepted_media_type = JSONRenderer.media_type
    response = _error_response(exc, context)
    return response if response is not None else _internal_error(exc, request)


def _internal_error(exc: Exception, request) -> Response:
    """What Django does with an uncaught exception (the test client's hook,
    the ``django.request`` log with the traceback), answered in the API's
    shape. Nothing of the exception reaches the client."""
    set_rollback()
    signals.got_request_exception.send(sender=None, request=_django_request(request))
    response = Response(
        error_body("internal", _("An unexpected error; the request may be retried.")),
        status=status.HTTP_500_INTERNAL_SERVER_ERROR,
    )
    if request is not None:
        log_response(
            "Internal Server Error: %s",
            request.path,
            response=response,
            request=_django_request(request),
            exception=exc,
        )
    return response


def _django_request(request):
    """The HttpRequest under DRF's Request, as Django's log handlers expect."""
    return getattr(request, "_request", request)


def _error_response(exc, context) -> Response | None:
    if isinstance(exc, MessagingError):
        headers = {}
        if isinstance(exc, RateLimited | Muted | ServiceUnavailable):
            headers["Retry-After"] = _retry_after(exc.retry_after)
        return Response(
            error_body(exc.code, exc.message, **exc.fields()),
            status=exc.http_status,
            headers=headers,
        )
    if isinstance(exc, exceptions.ValidationError):
        code = _first_code(exc.get_codes())
        return Response(
            error_body(
                code if code in _INPUT_CODES else "invalid",
                _first_message(exc.detail),
                fields=exc.detail,
            ),
            status=exc.status_code,
        )
    if isinstance(exc, SuspiciousOperation | BadRequest):
        status_code, code, message = _refused_request(exc)
        refused = Response(error_body(code, message), status=status_code)
        request = context.get("request")
        if isinstance(exc, SuspiciousOperation) and request is not None:
            # Logged as Django logs these: to django.security.<name>, where
            # a deployment's alerting already looks.
            log_response(
                str(exc),
                response=refused,
                request=_django_request(request),
                level="error",
                logger=logging.getLogger(f"django.security.{type(exc).__name__}"),
                exception=exc,
            )
        return refused
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    # DRF sets WWW-Authenticate (401 vs 403), Retry-After and Allow.
    response = drf_exception_handler(exc, context)
    if response is None:
        return None  # unexpected: exception_handler answers 500
    codes: Any = exc.get_codes() if isinstance(exc, exceptions.APIException) else "error"
    if not isinstance(codes, str):
        codes = getattr(exc, "default_code", "error")
    response.data = error_body(_DRF_CODES.get(codes, codes), str(exc.detail))
    return response


@csrf_exempt
def not_found(request, *args, **kwargs):
    """Unknown API paths (and malformed ids in them) answer in the API's
    shape rather than with Django's HTML page, with any method. Exempt from
    Django's CSRF check, whose refusal is an HTML page: this view changes
    nothing, and every other API view checks CSRF itself (DRF's session
    authentication), answering in the API's shape. A token's person is told
    in their language, as by every API view (a session's already is)."""
    person = _token_person(request)
    speaking = (
        locale.speaking_to(person, default=translation.get_language()) if person else nullcontext()
    )
    with speaking:
        return JsonResponse(error_body("not_found", _("No such endpoint or object.")), status=404)


def _token_person(request):
    """The active person of a valid ``Authorization: Token`` header, if any;
    nothing is refused here (the path is unknown either way)."""
    if locale.person_locale_applied(request):
        return None
    try:
        found = TokenAuthentication().authenticate(request)
    except exceptions.AuthenticationFailed:
        return None
    return found[0] if found else None


def bad_request(request, exception):
    """Django's 400 (``handler400``): a request refused before any view, as
    one with a ``Host`` outside ``ALLOWED_HOSTS`` is; under ``/api/`` in the
    API's shape, elsewhere Django's page (templates/400.html)."""
    if request.path.startswith("/api/"):
        return JsonResponse(error_body("invalid", _("The request is malformed.")), status=400)
    return defaults.bad_request(request, exception)
