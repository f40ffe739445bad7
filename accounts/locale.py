"""A person's language and time zone, applied wherever Parley speaks to them.

A person who chose a language on their profile page reads Parley in it on
every device; one who did not reads it in their browser's language
(``LocaleMiddleware`` reads ``Accept-Language``), and whatever reaches them
outside a request (emails, push, socket frames) falls back to the site's
``LANGUAGE_CODE``. Times shown by the server follow their ``time_zone``.
"""

import zoneinfo
from contextlib import contextmanager

from django.conf import settings
from django.utils import timezone, translation
from django.utils.translation import trans_real


def language_choices() -> list[tuple[str, str]]:
    """The languages a person may choose, each named in itself."""
    return list(settings.LANGUAGES)


def is_supported(code: str) -> bool:
    return code in dict(settings.LANGUAGES)


def accepted_language(accept_language: str) -> str | None:
    """The first language of an ``Accept-Language`` header that Parley
    speaks (``es-MX`` is served ``es``), or None: what ``LocaleMiddleware``
    reads from a request, for a socket's handshake, which is no request."""
    for code, _quality in trans_real.parse_accept_lang_header(accept_language):
        if code == "*":
            break
        try:
            return translation.get_supported_language_variant(code)
        except LookupError:
            continue
    return None


def language_of(user, default: str | None = None) -> str:
    """The language to address ``user`` in: their choice, else ``default``
    (the browser's, in a request), else the site's."""
    return language_chosen(getattr(user, "language", "") or "", default)


def language_chosen(chosen: str, default: str | None = None) -> str:
    """``language_of`` a person whose profile says ``chosen`` ("" for no
    choice), for callers that read the column alone."""
    if chosen and is_supported(chosen):
        return chosen
    return default or settings.LANGUAGE_CODE


@contextmanager
def speaking_to(user, default: str | None = None):
    """Translate and show times for ``user`` inside the block: emails,
    notifications and socket frames are built in it."""
    zone = None
    try:
        zone = zoneinfo.ZoneInfo(getattr(user, "time_zone", "") or "UTC")
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        zone = None
    with translation.override(language_of(user, default)):
        if zone is None:
            yield
            return
        with timezone.override(zone):
            yield


def person_locale_applied(request) -> bool:
    """Whether ``PersonLocaleMiddleware`` spoke to ``request``'s person (a
    session's); a token's is known only once the API has read it."""
    return getattr(request, "person_locale_applied", False)


class PersonLocaleMiddleware:
    """After ``LocaleMiddleware`` and authentication: a signed-in person's
    chosen language replaces the browser's, and their time zone becomes the
    current one, for the whole request."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated:
            return self.get_response(request)
        browser = translation.get_language()
        request.person_locale_applied = True
        with speaking_to(user, default=browser):
            request.LANGUAGE_CODE = translation.get_language()
            response = self.get_response(request)
        # Content-Language for what this person was served.
        response.headers.setdefault("Content-Language", request.LANGUAGE_CODE)
        return response
