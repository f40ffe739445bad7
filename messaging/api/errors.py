"""One error shape for the whole API, the socket's codes:
``{"error": {"code": "...", "message": "..."}}``.

Messaging errors keep their ``code`` and ``http_status``; DRF's validation
errors become ``invalid`` (with the per-field details under ``fields``), or
``too_long`` when the first refused field was refused for that (the input
fields parse with ``messaging.validation``, which says so);
DRF's own exceptions (authentication, permission, throttling, parsing) keep
their status and headers (``WWW-Authenticate``, ``Retry-After``) and take
the same shape.
"""

import math
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404, JsonResponse
from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from messaging.errors import MessagingError, RateLimited

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
_INPUT_CODES = {"too_long"}


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
            return message if field == "non_field_errors" else f"{field}: {message}"
    if isinstance(detail, list) and detail:
        return _first_message(detail[0])
    return str(detail) or "Invalid input."


def exception_handler(exc, context):
    if isinstance(exc, MessagingError):
        headers = {}
        if isinstance(exc, RateLimited):
            headers["Retry-After"] = _retry_after(exc.retry_after)
        return Response(error_body(exc.code, exc.message), status=exc.http_status, headers=headers)
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
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    # DRF sets WWW-Authenticate (401 vs 403), Retry-After and Allow.
    response = drf_exception_handler(exc, context)
    if response is None:
        return None  # an unexpected error: Django's 500 handling and logging
    codes: Any = exc.get_codes() if isinstance(exc, exceptions.APIException) else "error"
    if not isinstance(codes, str):
        codes = getattr(exc, "default_code", "error")
    response.data = error_body(_DRF_CODES.get(codes, codes), str(exc.detail))
    return response


def not_found(request, *args, **kwargs):
    """Unknown API paths (and malformed ids in them) answer in the API's
    shape rather than with Django's HTML page."""
    return JsonResponse(error_body("not_found", "No such endpoint or object."), status=404)
