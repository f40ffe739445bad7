"""Parley's own HTTP middleware.

``ContentSecurityPolicyMiddleware``: a strict Content-Security-Policy on
every response. Everything Parley serves comes from its own origin, so
nothing else is allowed: no inline scripts, no third-party hosts, no framing.
One exception: when files are stored in S3, an image's URL answers with a
redirect to a signed URL of the bucket, so ``img-src`` also names the
storage's origin. A response that brings its own policy (a served file's)
keeps it.

``PrivateResponsesMiddleware``: what is made for a signed-in person is not
kept by the browser (``Cache-Control: private, no-store``) unless the view
said otherwise, so the Back button on a shared computer after logging out
does not show the inbox, a conversation or an API answer again.

``DatabaseUnavailableMiddleware``: a database fault answers 503, not 500.
"""

import functools
import logging
import math
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.signals import setting_changed
from django.http import HttpResponse, JsonResponse
from django.utils import translation
from django.utils.cache import patch_cache_control
from django.utils.html import format_html
from django.utils.translation import gettext as _

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


def storage_origins(storage_settings: Mapping[str, Any]) -> list[str]:
    """The origins a signed file URL of the default storage points to: the
    S3 endpoint (``AWS_S3_ENDPOINT_URL``, path and virtual-host style) or
    the bucket's AWS host; none when the storage does not sign (Parley
    serves the bytes itself)."""
    options = storage_settings.get("OPTIONS") or {}
    if not options.get("querystring_auth"):
        return []
    bucket = options.get("bucket_name") or ""
    endpoint = options.get("endpoint_url")
    if endpoint:
        parts = urlsplit(endpoint)
        origins = [f"{parts.scheme}://{parts.netloc}"]
        if bucket:
            origins.append(f"{parts.scheme}://{bucket}.{parts.netloc}")
        return origins
    region = options.get("region_name")
    origins = [f"https://{bucket}.s3.amazonaws.com"]
    if region:
        origins.append(f"https://{bucket}.s3.{region}.amazonaws.com")
    return origins


@functools.cache
def site_policy() -> str:
    """``CONTENT_SECURITY_POLICY``, with the file storage's origins in
    ``img-src`` when it signs URLs."""
    default = settings.STORAGES.get("default")
    extra = storage_origins(default if isinstance(default, Mapping) else {})
    if not extra:
        return CONTENT_SECURITY_POLICY
    img_src = "img-src 'self' data: blob:"
    return CONTENT_SECURITY_POLICY.replace(img_src, " ".join([img_src, *extra]), 1)


def _storage_changed(*, setting: str, **kwargs) -> None:
    if setting == "STORAGES":
        site_policy.cache_clear()


setting_changed.connect(_storage_changed)


class ContentSecurityPolicyMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        response.headers.setdefault("Content-Security-Policy", site_policy())
        return response


class PrivateResponsesMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if _signed_in(request) and not response.has_header("Cache-Control"):
            patch_cache_control(response, private=True, no_store=True)
        return response


def _signed_in(request) -> bool:
    """A person's request: its user (read after the view: DRF's token
    authentication sets request.user too), or its credentials when the
    view refused them (DRF's CSRF refusal leaves the user anonymous)."""
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        return True
    return settings.SESSION_COOKIE_NAME in request.COOKIES or "HTTP_AUTHORIZATION" in request.META


def unavailable_page() -> str:
    """The 503 page, in the request's language. Plain markup: rendering a
    template could itself need what is failing."""
    return format_html(
        '<!doctype html><html lang="{}" dir="{}"><title>{}</title><p>{}</p></html>',
        translation.get_language(),
        "rtl" if translation.get_language_bidi() else "ltr",
        _("Try again shortly"),
        _("Parley cannot reach its database just now. Try again in a few seconds."),
    )


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
            response = HttpResponse(unavailable_page(), status=503)
        response["Retry-After"] = retry_after
        return response
