"""A scheduled message's time, parsed at the edge.

``send_at`` is ISO-8601 text with a date and a time. With an offset
(``2027-03-01T09:00:00+01:00``, or ``Z``) it names one instant, whatever
``time_zone`` says. Without one (``2027-03-01T09:00``, what a browser's
``datetime-local`` input gives) it is a wall-clock time in ``time_zone``, an
IANA zone name: the author's own zone (``User.time_zone``) unless the request
names another. A wall-clock time that does not exist in that zone (skipped
when the clocks go forward) is refused; one that happens twice (when they go
back) is the first of the two.
"""

import re
import zoneinfo
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from accounts.services import is_time_zone
from messaging.errors import InvalidInput

# A date and a time at least to the minute; fromisoformat reads the rest.
_DATE_AND_TIME = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}")
_MAX_TEXT = 64


def clean_time_zone(value: object) -> str:
    """An IANA zone name this system knows (``accounts`` offers the same
    list on the settings page), or InvalidInput naming ``time_zone``."""
    if not is_time_zone(value):
        raise InvalidInput(_("time_zone must be an IANA time zone name, such as Europe/Madrid."))
    return value


def parse_send_at(value: object, *, time_zone: str) -> datetime:
    """``value`` (see the module docstring) as an aware datetime in UTC;
    ``time_zone`` is clean (``clean_time_zone``)."""
    refusal = _("send_at must be an ISO-8601 date and time, such as 2027-03-01T09:00+01:00.")
    if not isinstance(value, str) or len(value) > _MAX_TEXT or not _DATE_AND_TIME.match(value):
        raise InvalidInput(refusal)
    try:
        parsed = datetime.fromisoformat(value)
        if parsed.tzinfo is not None:
            return parsed.astimezone(UTC)
        zone = zoneinfo.ZoneInfo(time_zone)
        local = parsed.replace(tzinfo=zone, fold=0)
        in_utc = local.astimezone(UTC)
    except (ValueError, OverflowError):
        # OverflowError: a time that is past year 9999 in UTC.
        raise InvalidInput(refusal) from None
    # A time in the gap the clocks skip comes back from UTC as another one.
    if in_utc.astimezone(zone).replace(tzinfo=None) != parsed:
        raise InvalidInput(
            _("%(time)s does not exist in %(zone)s (the clocks skip it).")
            % {"time": parsed.strftime("%Y-%m-%d %H:%M"), "zone": time_zone}
        )
    return in_utc


def check_send_at(send_at: datetime, *, now: datetime) -> datetime:
    """``send_at`` unchanged if it is in the future (up to
    ``SCHEDULED_MESSAGES_PAST_SLACK_SECONDS`` in the past counts: it is due
    at once) and at most ``SCHEDULED_MESSAGES_MAX_DAYS`` ahead; else
    InvalidInput."""
    slack = timedelta(seconds=settings.SCHEDULED_MESSAGES_PAST_SLACK_SECONDS)
    if send_at < now - slack:
        raise InvalidInput(_("send_at is in the past; choose a time to come."))
    days = settings.SCHEDULED_MESSAGES_MAX_DAYS
    if send_at > now + timedelta(days=days):
        raise InvalidInput(
            ngettext(
                "send_at is at most %(count)s day ahead.",
                "send_at is at most %(count)s days ahead.",
                days,
            )
            % {"count": days}
        )
    return send_at
