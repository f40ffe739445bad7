"""The settings page and the conversation page's mute form, as a browser
without JavaScript uses them: form posts through the services, values shown
after the redirect, refusals next to their fields."""

import datetime as dt
import re

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import Role, User
from notifications import selectors, services
from notifications.models import Channel, Kind, NotificationPreference

URL = "/settings/notifications/"


def form_data(**overrides) -> dict:
    """A full form post as the page sends it (unchecked boxes are absent)."""
    data = {
        "email_enabled": "on",
        "push_enabled": "on",
        "push_show_content": "on",
        "quiet_hours_start": "",
        "quiet_hours_end": "",
        "time_zone": "UTC",
        "digest": "daily",
        "digest_hour": "8",
        "digest_weekday": "0",
        "kind_direct_in_app": "on",
        "kind_direct_email": "on",
        "kind_mention_in_app": "on",
        "kind_mention_push": "on",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def test_anonymous_visitors_are_sent_to_log_in(client):
    response = client.get(URL)
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_the_page_shows_defaults_with_labelled_boxes(client, student):
    client.force_login(student)
    response = client.get(URL)
    html = response.content.decode()
    assert response.status_code == 200
    assert 'class="visually-hidden">Mentions by email</label>' in html
    assert 'class="visually-hidden">Group messages by push</label>' in html
    # Defaults: mentions by email on, groups by push off.
    assert 'name="kind_mention_email" id="id_kind_mention_email" checked' in html
    assert 'name="kind_group_push" id="id_kind_group_push">' in html
    assert 'data-zone-chosen="false"' in html
    assert '<section id="push-devices"' in html and 'href="/settings/push/"' in html
    assert "csrfmiddlewaretoken" in html


def test_linked_from_header_and_profile(client, student):
    client.force_login(student)
    assert f'href="{URL}"' in client.get(reverse("profile")).content.decode().replace("&#x2F;", "/")
    assert client.get(reverse("inbox")).content.decode().count(f'href="{URL}"') >= 1


def test_a_post_saves_and_the_page_shows_it_after_the_redirect(client, student):
    client.force_login(student)
    response = client.post(
        URL,
        form_data(
            email_enabled=None,
            push_show_content=None,
            quiet_hours_start="22:00",
            quiet_hours_end="07:30",
            time_zone="Europe/Lisbon",
            digest="weekly",
            digest_hour="18",
            digest_weekday="4",
            kind_group_push="on",
        ),
    )
    assert response.status_code == 302 and response["Location"] == URL
    stored = NotificationPreference.objects.get(user=student)
    assert not stored.email_enabled and stored.push_enabled and not stored.push_show_content
    assert (stored.quiet_hours_start, stored.quiet_hours_end) == (dt.time(22), dt.time(7, 30))
    assert (stored.digest, stored.digest_hour, stored.digest_weekday) == ("weekly", 18, 4)
    assert stored.kinds["group"] == {"in_app": False, "push": True, "email": False}
    assert stored.kinds["mention"]["email"] is False  # its box was not sent
    assert User.objects.get(pk=student.pk).time_zone == "Europe/Lisbon"

    page = client.get(URL).content.decode()
    assert "Saved." in page
    assert 'value="22:00"' in page and 'value="07:30"' in page
    assert '<option value="Europe/Lisbon" selected>' in page
    assert 'name="kind_group_push" id="id_kind_group_push" checked' in page
    assert 'name="email_enabled" id="id_email_enabled">' in page
    assert 'data-zone-chosen="true"' in page

    # Clearing both quiet hours clears them.
    client.post(URL, form_data())
    stored.refresh_from_db()
    assert (stored.quiet_hours_start, stored.quiet_hours_end) == (None, None)


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"quiet_hours_start": "22:00"}, "quiet_hours_end"),
        ({"quiet_hours_start": "25:00", "quiet_hours_end": "07:00"}, "quiet_hours_start"),
        ({"time_zone": "Mars/Olympus"}, "time_zone"),
        ({"digest_hour": "24"}, "digest_hour"),
    ],
)
def test_refusals_show_next_to_their_field_and_store_nothing(client, student, overrides, field):
    client.force_login(student)
    response = client.post(URL, form_data(**overrides))
    assert response.status_code == 400
    assert field in response.context["form"].errors
    html = response.content.decode()
    # The error is tied to its field: the field points at it and is invalid.
    assert f'class="form-error" id="id_{field}_error" role="alert"' in html
    assert re.search(rf'aria-describedby="[^"]*id_{field}_error"', html)
    assert re.search(
        rf'<[^>]*id="id_{field}"[^>]*aria-invalid="true"|<[^>]*aria-invalid="true"[^>]*id="id_{field}"',
        html,
    )
    assert not NotificationPreference.objects.exists()
    assert User.objects.get(pk=student.pk).time_zone == "UTC"


def test_the_mute_form_mutes_shows_the_state_and_unmutes(client, direct, student):
    client.force_login(student)
    page = reverse("conversation", args=[direct.pk])
    assert (
        'id="mute-state" class="mute-state" role="status"></span>'
        in client.get(page).content.decode()
    )
    mute_url = reverse("mute_conversation", args=[direct.pk])
    before = timezone.now()
    response = client.post(mute_url, {"duration": "8h"})
    assert response.status_code == 302 and response["Location"] == page
    mute = selectors.active_mute(student, direct.pk)
    assert mute is not None
    assert dt.timedelta(hours=8) <= mute.until - before < dt.timedelta(hours=8, minutes=5)
    html = client.get(page).content.decode()
    assert "Muted until " in html and 'id="unmute-button">' in html

    client.post(mute_url, {"duration": "forever"})
    assert "Muted until you unmute" in client.get(page).content.decode()
    assert selectors.active_mute(student, direct.pk).until is None

    client.post(mute_url, {"duration": "off"})
    assert selectors.mute_for(student, direct.pk) is None
    assert "Muted until" not in client.get(page).content.decode()


def test_the_muted_time_is_shown_in_the_persons_zone(client, direct, student):
    services.update_preferences(user=student, time_zone="Asia/Kolkata")
    soon = dt.datetime.now(dt.UTC) + dt.timedelta(days=30)
    until = soon.replace(hour=12, minute=0, second=0, microsecond=0)
    services.mute_conversation(user=student, conversation_id=direct.pk, until=until)
    client.force_login(User.objects.get(pk=student.pk))
    html = client.get(reverse("conversation", args=[direct.pk])).content.decode()
    shown = f"{until:%a} {until.day} {until:%b}, 17:30"  # UTC+5:30, the same day
    assert f"Muted until {shown}" in html
    settings_page = client.get(URL).content.decode()
    assert f"until {shown}" in settings_page


def test_a_non_member_cannot_mute_by_form(client, direct, make_user):
    outsider = make_user(Role.STUDENT)
    client.force_login(outsider)
    response = client.post(reverse("mute_conversation", args=[direct.pk]), {"duration": "1h"})
    assert response.status_code == 404
    assert not selectors.active_mutes(outsider).exists()


def test_every_kind_and_channel_has_a_box(client, student):
    client.force_login(student)
    form = client.get(URL).context["form"]
    for kind in Kind:
        for channel in Channel:
            assert f"kind_{kind}_{channel}" in form.fields
