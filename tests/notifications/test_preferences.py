"""Notification preferences are written by notifications.services only: the
admin saves through it, and a partial update keeps the other choices."""

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from accounts.models import User
from notifications import selectors, services
from notifications.models import DigestFrequency, NotificationPreference


def test_defaults_until_a_person_chooses(student):
    preference = selectors.preferences_for(student)
    assert preference.pk is not None and preference._state.adding
    assert preference.email_enabled and preference.push_enabled
    assert preference.digest == DigestFrequency.DAILY
    assert not NotificationPreference.objects.exists()


def test_update_sets_only_what_is_given(student):
    services.update_preferences(user=student, push_enabled=False)
    services.update_preferences(user=student, digest=DigestFrequency.WEEKLY)
    stored = NotificationPreference.objects.get(user=student)
    assert (stored.email_enabled, stored.push_enabled, stored.digest) == (
        True,
        False,
        DigestFrequency.WEEKLY,
    )
    assert selectors.preferences_for(student) == stored


def test_unknown_digest_is_refused_and_nothing_stored(student):
    with pytest.raises(ValidationError) as refused:
        services.update_preferences(user=student, digest="hourly")
    assert set(refused.value.message_dict) == {"digest"}
    assert not NotificationPreference.objects.exists()


def test_admin_saves_through_the_service(client, student, monkeypatch):
    root = User.objects.create_superuser(
        email="root@example.test", password="root-password-1", display_name="Root"
    )
    client.force_login(root)
    calls = []
    real = services.update_preferences
    monkeypatch.setattr(services, "update_preferences", lambda **kw: calls.append(kw) or real(**kw))
    response = client.post(
        reverse("admin:notifications_notificationpreference_add"),
        {
            "user": str(student.pk),
            "email_enabled": "on",
            "digest": DigestFrequency.OFF,
            "digest_hour": "8",
            "digest_weekday": "0",
            "kinds": '{"direct": {"email": true}}',
        },
    )
    assert response.status_code == 302, response.content[:500]
    assert [c["user"] for c in calls] == [student]
    stored = NotificationPreference.objects.get(user=student)
    assert (stored.email_enabled, stored.push_enabled, stored.digest) == (
        True,
        False,
        DigestFrequency.OFF,
    )


def refused_fields(**changes) -> set[str]:
    """The fields ``update_preferences`` names when it refuses ``changes``."""
    with pytest.raises(ValidationError) as refused:
        services.update_preferences(**changes)
    return set(refused.value.message_dict)


def test_every_field_is_stored_and_read_back(student):
    services.update_preferences(
        user=student,
        email_enabled=False,
        push_enabled=False,
        push_show_content=False,
        kinds={"group": {"in_app": True, "push": True}},
        quiet_hours_start=dt.time(22, 0),
        quiet_hours_end=dt.time(7, 30),
        digest=DigestFrequency.WEEKLY,
        digest_hour=18,
        digest_weekday=4,
        time_zone="Europe/Berlin",
    )
    stored = NotificationPreference.objects.get(user=student)
    assert not stored.email_enabled and not stored.push_enabled and not stored.push_show_content
    assert (stored.quiet_hours_start, stored.quiet_hours_end) == (dt.time(22), dt.time(7, 30))
    assert (stored.digest, stored.digest_hour, stored.digest_weekday) == ("weekly", 18, 4)
    student.refresh_from_db()
    assert student.time_zone == "Europe/Berlin"


def test_kinds_change_only_the_channels_given(student):
    services.update_preferences(user=student, kinds={"group": {"push": True}})
    services.update_preferences(user=student, kinds={"direct": {"email": False}})
    kinds = NotificationPreference.objects.get(user=student).kinds
    assert kinds["group"] == {"in_app": False, "push": True, "email": False}
    assert kinds["direct"] == {"in_app": True, "push": True, "email": False}
    assert kinds["mention"] == {"in_app": True, "push": True, "email": True}


@pytest.mark.parametrize(
    "kinds",
    [
        {"reactions": {"email": True}},
        {"direct": {"sms": True}},
        {"direct": {"email": "yes"}},
        {"direct": {"email": 1}},
        {"direct": True},
        ["direct"],
    ],
)
def test_unknown_kinds_channels_and_non_booleans_are_refused(student, kinds):
    assert refused_fields(user=student, kinds=kinds) == {"kinds"}
    assert not NotificationPreference.objects.exists()


def test_quiet_hours_both_or_neither(student):
    assert refused_fields(user=student, quiet_hours_start=dt.time(22)) == {"quiet_hours_end"}
    assert refused_fields(user=student, quiet_hours_end=dt.time(7)) == {"quiet_hours_start"}
    assert refused_fields(user=student, quiet_hours_start=dt.time(22), quiet_hours_end=None) == {
        "quiet_hours_end"
    }
    assert refused_fields(
        user=student, quiet_hours_start=dt.time(7), quiet_hours_end=dt.time(7)
    ) == {"quiet_hours_end"}
    assert not NotificationPreference.objects.exists()
    services.update_preferences(
        user=student, quiet_hours_start=dt.time(22), quiet_hours_end=dt.time(7)
    )
    # Other changes leave them be; None for both clears them.
    services.update_preferences(user=student, digest="off")
    stored = NotificationPreference.objects.get(user=student)
    assert (stored.quiet_hours_start, stored.quiet_hours_end) == (dt.time(22), dt.time(7))
    services.update_preferences(user=student, quiet_hours_start=None, quiet_hours_end=None)
    stored.refresh_from_db()
    assert (stored.quiet_hours_start, stored.quiet_hours_end) == (None, None)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("digest_hour", 24),
        ("digest_hour", -1),
        ("digest_hour", True),
        ("digest_hour", 8.0),
        ("digest_weekday", 7),
        ("digest_weekday", "1"),
        ("email_enabled", "false"),
        ("push_show_content", 0),
    ],
)
def test_out_of_range_and_mistyped_values_are_refused(student, field, value):
    assert refused_fields(user=student, **{field: value}) == {field}


@pytest.mark.parametrize(
    "zone", ["Mars/Olympus", "CET+1", "+02:00", "", "europe/berlin", "CET", "EST5EDT", "localtime"]
)
def test_an_unknown_time_zone_is_refused_and_nothing_stored(student, zone):
    assert refused_fields(user=student, time_zone=zone, digest="off") == {"time_zone"}
    student.refresh_from_db()
    assert student.time_zone == "UTC"
    assert not NotificationPreference.objects.exists()


def test_every_refused_field_is_named_at_once(student):
    assert refused_fields(
        user=student, digest_hour=99, time_zone="Nowhere", quiet_hours_start=dt.time(1)
    ) == {"digest_hour", "time_zone", "quiet_hours_end"}


def test_set_time_zone_stores_a_known_zone(student):
    from accounts import services as account_services

    account_services.set_time_zone(user=student, time_zone="America/Sao_Paulo")
    assert User.objects.get(pk=student.pk).time_zone == "America/Sao_Paulo"
    with pytest.raises(ValidationError):
        account_services.set_time_zone(user=student, time_zone="America/Atlantis")
    assert User.objects.get(pk=student.pk).time_zone == "America/Sao_Paulo"


def superuser() -> User:
    return User.objects.create_superuser(
        email="root2@example.test", password="root-password-1", display_name="Root"
    )


def test_admin_edits_every_field(client, student):
    client.force_login(superuser())
    response = client.post(
        reverse("admin:notifications_notificationpreference_add"),
        {
            "user": str(student.pk),
            "push_show_content": "on",
            "kinds": '{"group": {"push": true}}',
            "quiet_hours_start": "23:00",
            "quiet_hours_end": "06:00",
            "digest": DigestFrequency.WEEKLY,
            "digest_hour": "19",
            "digest_weekday": "5",
        },
    )
    assert response.status_code == 302, response.content[:2000]
    stored = NotificationPreference.objects.get(user=student)
    assert (stored.email_enabled, stored.push_enabled, stored.push_show_content) == (
        False,
        False,
        True,
    )
    assert stored.kinds["group"]["push"] is True
    assert (stored.quiet_hours_start, stored.quiet_hours_end) == (dt.time(23), dt.time(6))
    assert (stored.digest_hour, stored.digest_weekday) == (19, 5)
    page = client.get(
        reverse("admin:notifications_notificationpreference_change", args=[student.pk])
    ).content.decode()
    for name in ("push_show_content", "kinds", "quiet_hours_start", "digest_weekday"):
        assert f'name="{name}"' in page


@pytest.mark.parametrize(
    ("fields", "refused"),
    [
        ({"kinds": '{"reactions": {"push": true}}'}, "Unknown kind"),
        ({"quiet_hours_start": "08:00", "quiet_hours_end": "08:00"}, "another time"),
        ({"digest_hour": "30"}, "digest_hour"),
    ],
)
def test_admin_shows_refusals_and_stores_nothing(client, student, fields, refused):
    client.force_login(superuser())
    response = client.post(
        reverse("admin:notifications_notificationpreference_add"),
        {
            "user": str(student.pk),
            "digest": "daily",
            "digest_hour": "8",
            "digest_weekday": "0",
            "kinds": '{"direct": {"email": true}}',
            **fields,
        },
    )
    assert response.status_code == 200
    assert refused in response.content.decode()
    assert not NotificationPreference.objects.exists()


def test_mutes_are_listed_read_only_in_the_admin(client, direct, student):
    services.mute_conversation(user=student, conversation_id=direct.pk, until=None)
    client.force_login(superuser())
    listing = client.get(reverse("admin:notifications_conversationmute_changelist"))
    assert listing.status_code == 200 and student.display_name in listing.content.decode()
    assert client.get(reverse("admin:notifications_conversationmute_add")).status_code == 403


def test_user_admin_sets_a_known_time_zone_only(client, student):
    client.force_login(superuser())
    url = reverse("admin:accounts_user_change", args=[student.pk])
    page = client.get(url).content.decode()
    assert '<option value="Europe/Berlin">' in page
    form = {
        "email": student.email,
        "display_name": student.display_name,
        "role": student.role,
        "is_active": "on",
        "date_joined_0": "2026-01-01",
        "date_joined_1": "00:00:00",
        "mentors-TOTAL_FORMS": "0",
        "mentors-INITIAL_FORMS": "0",
    }
    refused = client.post(url, {**form, "time_zone": "Mars/Olympus"})
    assert refused.status_code == 200
    assert User.objects.get(pk=student.pk).time_zone == "UTC"
    saved = client.post(url, {**form, "time_zone": "Europe/Berlin"})
    assert saved.status_code == 302, saved.content[:3000]
    assert User.objects.get(pk=student.pk).time_zone == "Europe/Berlin"
