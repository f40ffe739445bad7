"""The public calendar feed: ``/calendar/<token>.ics``, no login. Whoever
holds the URL reads it; an unknown, rotated or malformed token is a plain
404 that says nothing else."""

from django.http import Http404, HttpResponse
from django.views.decorators.http import require_safe

from accounts.locale import speaking_to
from messaging.integrations.calendar import ics, selectors

CONTENT_TYPE = "text/calendar; charset=utf-8"


def calendar_response(body: bytes, *, filename: str | None = None) -> HttpResponse:
    """iCalendar bytes, never cached by a shared cache (the URL is a
    secret); ``filename``: offered as a download."""
    response = HttpResponse(body, content_type=CONTENT_TYPE)
    response["Cache-Control"] = "private, no-store"
    response["X-Robots-Tag"] = "noindex"
    if filename:
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@require_safe
def feed(request, token: str):
    user = selectors.owner_of_token(token)
    if user is None:
        raise Http404()
    with speaking_to(user):
        body = ics.feed_calendar(selectors.feed_items(user))
    return calendar_response(body)
