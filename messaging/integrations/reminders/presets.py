"""The reminder presets, computed in the person's own time zone.

"In 20 minutes", "in 1 hour" and "in 3 hours" are elapsed time (the same
instant wherever one is, and across a daylight-saving change). "Tomorrow
9:00" and "next Monday 9:00" are wall-clock times in ``User.time_zone``:
9:00 there, whatever the offset that day.
"""

import datetime as dt
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.utils.translation import gettext_lazy as _

MORNING = dt.time(9, 0)

# name -> what the person reads; the order the menu offers them in.
PRESETS = {
    "in_20_minutes": _("In 20 minutes"),
    "in_1_hour": _("In 1 hour"),
    "in_3_hours": _("In 3 hours"),
    "tomorrow_9": _("Tomorrow at 9:00"),
    "next_monday_9": _("Next Monday at 9:00"),
}

_ELAPSED = {
    "in_20_minutes": dt.timedelta(minutes=20),
    "in_1_hour": dt.timedelta(hours=1),
    "in_3_hours": dt.timedelta(hours=3),
}


def zone_of(name: str) -> ZoneInfo:
    """The person's zone; UTC for a name this machine does not know."""
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def _local_morning(day: dt.date, zone: ZoneInfo) -> dt.datetime:
    # 9:00 exists on every day of every zone (changes happen at night);
    # fold=0 takes the first of two 9:00s, were there ever two.
    return dt.datetime.combine(day, MORNING, tzinfo=zone).astimezone(dt.UTC)


def preset_time(preset: str, *, time_zone: str, now: dt.datetime) -> dt.datetime:
    """The instant (UTC) ``preset`` names for a person in ``time_zone`` at
    ``now`` (aware). ``KeyError`` for an unknown preset. "Next Monday" is
    the Monday after today: on a Monday, the one a week later."""
    if preset in _ELAPSED:
        return (now + _ELAPSED[preset]).astimezone(dt.UTC)
    zone = zone_of(time_zone)
    today = now.astimezone(zone).date()
    if preset == "tomorrow_9":
        return _local_morning(today + dt.timedelta(days=1), zone)
    if preset == "next_monday_9":
        days = 7 - today.weekday()  # Monday is 0: 7 days on a Monday
        return _local_morning(today + dt.timedelta(days=days), zone)
    raise KeyError(preset)
