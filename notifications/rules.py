"""Whom to tell and how: pure answers from a person's preferences, mutes and
clock. Fan-out, push, email and digests all ask here, so the rules are one.

No queries: callers load the rows (``selectors``) and pass them in.
"""

import datetime as dt
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from notifications.models import (
    Channel,
    ConversationMute,
    Kind,
    NotificationPreference,
    default_kinds,
)

_MASTER_SWITCH = {Channel.PUSH: "push_enabled", Channel.EMAIL: "email_enabled"}


def channels_for(preference: NotificationPreference, kind: str) -> set[str]:
    """The channels ``kind`` reaches this person by (before mutes and quiet
    hours). A kind or channel missing from the stored map takes its default."""
    defaults = default_kinds()[Kind(kind).value]
    stored = (preference.kinds or {}).get(kind, {})
    chosen = set()
    for channel, default in defaults.items():
        if not bool(stored.get(channel, default)):
            continue
        master = _MASTER_SWITCH.get(Channel(channel))
        if master is not None and not getattr(preference, master):
            continue
        chosen.add(str(channel))
    return chosen


def is_muted(mute: ConversationMute | None, at: dt.datetime) -> bool:
    """Whether ``mute`` (a person's mute of one conversation, or None)
    silences it at ``at``."""
    return mute is not None and (mute.until is None or mute.until > at)


def zone(name: str) -> dt.tzinfo:
    """The IANA zone ``name``; UTC for a name this system does not know."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return dt.UTC


def quiet_hours_end(
    preference: NotificationPreference, time_zone: str, at: dt.datetime
) -> dt.datetime | None:
    """When the quiet hours ``at`` falls in end (an aware datetime), or None
    when ``at`` is not inside quiet hours. Start and end are local times in
    ``time_zone``; a start after the end spans midnight; equal means none."""
    start, end = preference.quiet_hours_start, preference.quiet_hours_end
    if start is None or end is None or start == end:
        return None
    local = at.astimezone(zone(time_zone))
    now = local.time().replace(tzinfo=None)
    if start < end:
        inside = start <= now < end
        end_day = local.date()
    else:  # spans midnight
        inside = now >= start or now < end
        end_day = local.date() + dt.timedelta(days=1) if now >= start else local.date()
    if not inside:
        return None
    return dt.datetime.combine(end_day, end, tzinfo=local.tzinfo)
