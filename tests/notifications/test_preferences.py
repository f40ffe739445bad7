"""Notification preferences are written by notifications.services only: the
admin saves through it, and a partial update keeps the other choices."""

import pytest
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
    with pytest.raises(ValueError, match="digest"):
        services.update_preferences(user=student, digest="hourly")
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
        {"user": str(student.pk), "email_enabled": "on", "digest": DigestFrequency.OFF},
    )
    assert response.status_code == 302, response.content[:500]
    assert [c["user"] for c in calls] == [student]
    stored = NotificationPreference.objects.get(user=student)
    assert (stored.email_enabled, stored.push_enabled, stored.digest) == (
        True,
        False,
        DigestFrequency.OFF,
    )
