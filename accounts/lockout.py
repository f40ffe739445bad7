"""Login lockout: django-axes, tuned for Parley.

Every password check with a request (the login page, the admin's login page,
``POST /api/auth/token/``) goes through ``authenticate()``, so axes sees all
of them. Failures count per account (the email, in any letter case) and per
client address (``config.proxies.client_network``: an IPv6 client by its
/64), over a sliding window of
``AXES_COOLOFF_TIME``:

- an account is locked after ``AXES_FAILURE_LIMIT`` failures, from any
  addresses;
- an address is locked after ``PARLEY_LOGIN_ADDRESS_FAILURE_LIMIT`` failures,
  for any accounts: higher, since a whole school may share one address.

While locked, even the right password is refused and the attempt is not
counted (``AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False``), so the
lock lifts at most ``AXES_COOLOFF_TIME`` after the failure that set it,
whoever keeps trying. Pages answer HTTP 429 with a page that says so; the API
answers 429 ``locked_out`` in its error shape with ``Retry-After``. Each
lockout (not each refused attempt) writes one ``auth.locked_out`` audit row.
"""

import logging
import math

from axes.backends import AxesStandaloneBackend
from axes.handlers.database import AxesDatabaseHandler
from axes.helpers import get_client_username, get_cool_off
from django.conf import settings
from django.db.models import Sum
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils.cache import patch_cache_control
from django.utils.translation import ngettext

from accounts import services

log = logging.getLogger(__name__)

MAX_USERNAME_CHARS = 255  # axes' column


def account_limit() -> int:
    return settings.AXES_FAILURE_LIMIT


def address_limit() -> int:
    return settings.PARLEY_LOGIN_ADDRESS_FAILURE_LIMIT


def cooloff_minutes() -> int:
    return math.ceil(get_cool_off().total_seconds() / 60)


def lockout_message() -> str:
    minutes = cooloff_minutes()
    return ngettext(
        "Too many failed sign-in attempts for this account or from this address. "
        "Try again in %(minutes)s minute.",
        "Too many failed sign-in attempts for this account or from this address. "
        "Try again in %(minutes)s minutes.",
        minutes,
    ) % {"minutes": minutes}


def _django_request(request):
    # DRF's Request wraps Django's: axes must flag the one the middleware
    # sees, or the API's lockout would answer as a wrong password.
    return getattr(request, "_request", request)


def username_of(request: HttpRequest, credentials: dict | None) -> str | None:
    """The account an attempt is for, as stored: emails are lowercase, so
    ``Sam@X`` and ``sam@x`` count against the same account. The login forms
    send ``username``, the token endpoint ``email``."""
    credentials = credentials or {}
    data = getattr(request, "data", None) or getattr(request, "POST", {})
    for value in (
        credentials.get("email"),
        credentials.get("username"),
        data.get("email") if hasattr(data, "get") else None,
        data.get("username") if hasattr(data, "get") else None,
    ):
        if isinstance(value, str) and value.strip():
            return value.strip().lower()[:MAX_USERNAME_CHARS]
    return None


class LockoutBackend(AxesStandaloneBackend):
    """Refuses every password check while the account or the address is
    locked (first in ``AUTHENTICATION_BACKENDS``; authenticates no one)."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        return super().authenticate(_django_request(request), username, password, **kwargs)


class LockoutHandler(AxesDatabaseHandler):
    """axes' database handler with one limit per account and another, higher
    one per address, and one audit row per lockout."""

    def failure_counts(self, request, credentials: dict | None = None) -> tuple[int, int]:
        """Failures within the window: (for this account, from this address)."""
        by_account, by_address = (
            attempts.aggregate(total=Sum("failures_since_start"))["total"] or 0
            for attempts in self.get_user_attempts(request, credentials)
        )
        return by_account, by_address

    def get_failures(self, request, credentials: dict | None = None) -> int:
        # axes compares this one number with AXES_FAILURE_LIMIT (the
        # account's); an address over its own limit reads as at least that.
        by_account, by_address = self.failure_counts(request, credentials)
        if by_address >= address_limit():
            return max(by_account, account_limit())
        return by_account

    def user_login_failed(self, sender, credentials: dict, request=None, **kwargs):
        request = _django_request(request)
        # Flagged by LockoutBackend: refused while already locked.
        already_locked = getattr(request, "axes_locked_out", False)
        super().user_login_failed(sender, credentials, request, **kwargs)
        if request is None or already_locked or not getattr(request, "axes_locked_out", False):
            return
        by_account, by_address = self.failure_counts(request, credentials)
        locked = [
            scope
            for scope, count, limit in (
                ("account", by_account, account_limit()),
                ("address", by_address, address_limit()),
            )
            if count >= limit
        ]
        email = get_client_username(request, credentials)
        address = request.axes_ip_address
        log.warning(
            "Login locked out (%s): account %r, address %s", "+".join(locked), email, address
        )
        services.record_lockout(
            email=email,
            address=address,
            locked=locked,
            failures=max(by_account, by_address),
            path=request.path,
            cooloff_minutes=cooloff_minutes(),
        )


def lockout_response(request: HttpRequest, *args, **kwargs) -> HttpResponse:
    """What a locked-out attempt gets (``AXES_LOCKOUT_CALLABLE``): the API's
    JSON error under ``/api/``, a page elsewhere; HTTP 429 with
    ``Retry-After``, the longest the lock can still last."""
    retry_after = str(cooloff_minutes() * 60)
    if request.path.startswith("/api/"):
        response: HttpResponse = JsonResponse(
            {"error": {"code": "locked_out", "message": lockout_message()}}, status=429
        )
    else:
        response = render(
            request,
            "accounts/locked_out.html",
            {"message": lockout_message(), "minutes": cooloff_minutes()},
            status=429,
        )
    response["Retry-After"] = retry_after
    # An answer to a sign-in, as the token's and its other refusals: never
    # kept by a browser or a proxy.
    patch_cache_control(response, private=True, no_store=True)
    return response
