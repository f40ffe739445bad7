"""The preference rules every channel asks: kinds and master switches,
mutes, quiet hours in the person's own zone."""

import datetime as dt

from notifications import rules
from notifications.models import ConversationMute, NotificationPreference


def prefs(**fields) -> NotificationPreference:
    return NotificationPreference(**fields)


def test_defaults_direct_and_mentions_everywhere_groups_nowhere():
    preference = prefs()
    assert rules.channels_for(preference, "direct") == {"in_app", "push", "email"}
    assert rules.channels_for(preference, "mention") == {"in_app", "push", "email"}
    assert rules.channels_for(preference, "group") == set()
    assert rules.channels_for(preference, "added") == {"in_app"}


def test_a_kind_switched_off_and_the_master_switches():
    preference = prefs(kinds={"direct": {"email": False}})
    assert rules.channels_for(preference, "direct") == {"in_app", "push"}
    preference = prefs(push_enabled=False, email_enabled=False)
    assert rules.channels_for(preference, "mention") == {"in_app"}


def test_mutes_end_when_they_say():
    now = dt.datetime(2026, 12, 2, 12, tzinfo=dt.UTC)
    assert not rules.is_muted(None, now)
    assert rules.is_muted(ConversationMute(until=None), now)
    assert rules.is_muted(ConversationMute(until=now + dt.timedelta(minutes=1)), now)
    assert not rules.is_muted(ConversationMute(until=now), now)


def test_quiet_hours_in_the_persons_zone_spanning_midnight():
    preference = prefs(quiet_hours_start=dt.time(22), quiet_hours_end=dt.time(7))
    # 21:30 UTC is 22:30 in Berlin (winter): quiet until 07:00 Berlin tomorrow.
    at = dt.datetime(2026, 12, 2, 21, 30, tzinfo=dt.UTC)
    end = rules.quiet_hours_end(preference, "Europe/Berlin", at)
    assert end is not None and end.astimezone(dt.UTC) == dt.datetime(2026, 12, 3, 6, tzinfo=dt.UTC)
    # The same instant is 21:30 in London: not quiet yet.
    assert rules.quiet_hours_end(preference, "Europe/London", at) is None
    # 05:00 local, after midnight: quiet until 07:00 the same day.
    early = dt.datetime(2026, 12, 3, 5, tzinfo=dt.UTC)
    end = rules.quiet_hours_end(preference, "UTC", early)
    assert end == dt.datetime(2026, 12, 3, 7, tzinfo=dt.UTC)


def test_quiet_hours_within_a_day_and_unknown_zone_is_utc():
    preference = prefs(quiet_hours_start=dt.time(12), quiet_hours_end=dt.time(13))
    at = dt.datetime(2026, 12, 2, 12, 30, tzinfo=dt.UTC)
    assert rules.quiet_hours_end(preference, "Not/AZone", at) == dt.datetime(
        2026, 12, 2, 13, tzinfo=dt.UTC
    )
    assert rules.quiet_hours_end(prefs(), "UTC", at) is None
