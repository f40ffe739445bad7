"""The presets, in several zones, across daylight-saving changes."""

import datetime as dt

import pytest

from messaging.integrations.reminders.presets import PRESETS, preset_time

UTC = dt.UTC


def at(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text)


@pytest.mark.parametrize(
    ("preset", "expected"),
    [
        ("in_20_minutes", "2026-06-10T12:20:00+00:00"),
        ("in_1_hour", "2026-06-10T13:00:00+00:00"),
        ("in_3_hours", "2026-06-10T15:00:00+00:00"),
    ],
)
def test_elapsed_presets_are_the_same_instant_in_any_zone(preset, expected):
    now = at("2026-06-10T12:00:00+00:00")
    for zone in ("UTC", "Asia/Kolkata", "America/Los_Angeles"):
        assert preset_time(preset, time_zone=zone, now=now) == at(expected)


def test_tomorrow_nine_is_nine_on_the_persons_clock():
    now = at("2026-06-10T20:30:00+00:00")  # Wed 10 June, UTC
    # Madrid (UTC+2 in summer): Wednesday 22:30 -> Thursday 9:00.
    assert preset_time("tomorrow_9", time_zone="Europe/Madrid", now=now) == at(
        "2026-06-11T07:00:00+00:00"
    )
    # Kolkata (UTC+5:30): Thursday 02:00 -> Friday 9:00 local.
    assert preset_time("tomorrow_9", time_zone="Asia/Kolkata", now=now) == at(
        "2026-06-12T03:30:00+00:00"
    )
    # Los Angeles (UTC-7): Wednesday 13:30 -> Thursday 9:00 local.
    assert preset_time("tomorrow_9", time_zone="America/Los_Angeles", now=now) == at(
        "2026-06-11T16:00:00+00:00"
    )


def test_tomorrow_nine_across_the_spring_change():
    # New York moves from EST (-5) to EDT (-4) at 2:00 on Sunday 8 March 2026.
    now = at("2026-03-07T17:00:00+00:00")  # Saturday 12:00 EST
    assert preset_time("tomorrow_9", time_zone="America/New_York", now=now) == at(
        "2026-03-08T13:00:00+00:00"  # 9:00 EDT, not 14:00
    )
    # The elapsed ones ignore the change: three hours are three hours.
    late = at("2026-03-08T06:30:00+00:00")  # 1:30 EST, just before the jump
    assert preset_time("in_1_hour", time_zone="America/New_York", now=late) == at(
        "2026-03-08T07:30:00+00:00"  # 3:30 EDT on the wall clock
    )


def test_tomorrow_nine_across_the_autumn_change():
    # Europe moves back from CEST (+2) to CET (+1) at 3:00 on Sunday 25 October 2026.
    now = at("2026-10-24T10:00:00+00:00")
    assert preset_time("tomorrow_9", time_zone="Europe/Berlin", now=now) == at(
        "2026-10-25T08:00:00+00:00"  # 9:00 CET
    )


def test_next_monday_nine():
    # Wednesday 10 June 2026 -> Monday 15 June.
    wednesday = at("2026-06-10T08:00:00+00:00")
    assert preset_time("next_monday_9", time_zone="UTC", now=wednesday) == at(
        "2026-06-15T09:00:00+00:00"
    )
    # On a Monday, the Monday a week later, even before 9:00.
    monday = at("2026-06-15T06:00:00+00:00")
    assert preset_time("next_monday_9", time_zone="UTC", now=monday) == at(
        "2026-06-22T09:00:00+00:00"
    )
    # Sunday evening in Los Angeles is Monday in UTC: the person's Monday counts.
    sunday_la = at("2026-06-15T02:00:00+00:00")  # Sunday 14 June, 19:00 PDT
    assert preset_time("next_monday_9", time_zone="America/Los_Angeles", now=sunday_la) == at(
        "2026-06-15T16:00:00+00:00"
    )


def test_an_unknown_zone_counts_as_utc_and_an_unknown_preset_is_refused():
    now = at("2026-06-10T12:00:00+00:00")
    assert preset_time("tomorrow_9", time_zone="Mars/Olympus", now=now) == at(
        "2026-06-11T09:00:00+00:00"
    )
    with pytest.raises(KeyError):
        preset_time("in_a_while", time_zone="UTC", now=now)
    assert list(PRESETS) == [
        "in_20_minutes",
        "in_1_hour",
        "in_3_hours",
        "tomorrow_9",
        "next_monday_9",
    ]
