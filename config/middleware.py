"""Parley's own HTTP middleware.

``ContentSecurityPolicyMiddleware``: a strict Content-Security-Policy on
every response. Everything Parley serves comes from its own origin, so
nothing else is allowed: no inline scripts, no third-party hosts, no framing.

``DatabaseUnavailableMiddleware``: a database fault answers 503, not 500.
"""

import logging
import math

from django.http import HttpResponse, JsonResponse

from config.database import DATABASE_FAULTS
from messaging.api.errors import error_body
from messaging.errors import ServiceUnavailable

logger = logging.getLogger(__name__)

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data: blob:",
        "connect-src 'self'",
        "font-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)


class ContentSecurityPolicyMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        return response


class DatabaseUnavailableMiddleware:
    """A database fault (unreachable, refusing, too slow: ``config.database``)
    answers 503 with ``Retry-After`` instead of a 500: under ``/api/`` in the
    API's error shape with code ``unavailable`` (docs/api.md), elsewhere as a
    short page. Nothing was done; the request may be repeated."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if not isinstance(exception, DATABASE_FAULTS):
            return None
        error = ServiceUnavailable()
        retry_after = str(max(1, math.ceil(error.retry_after)))
        logger.warning("Answered 503: the database is unavailable (%s)", exception)
        if request.path.startswith("/api/"):
            response: HttpResponse = JsonResponse(error_body(error.code, error.message), status=503)
        else:
            response = HttpResponse(
                "<!doctype html><title>Try again shortly</title>"
                "<p>Parley cannot reach its database just now. Try again in a few seconds.</p>",
                status=503,
            )
        response["Retry-After"] = retry_after
        return response
