"""The notifications endpoints: preferences (GET/PATCH) and conversation
mutes (PUT/DELETE), in the API's shapes and error codes."""

import datetime as dt
import uuid

import pytest
from django.utils import timezone

from accounts import services as account_services
from accounts.models import User
from notifications import selectors
from notifications.models import NotificationPreference

pytestmark = pytest.mark.django_db

PREFS = "/api/notifications/preferences/"


def mute_url(conversation_id) -> str:
    return f"/api/conversations/{conversation_id}/mute/"


def test_anonymous_is_told_401(api, direct):
    client = api()
    assert client.get(PREFS).status_code == 401
    assert client.patch(PREFS, {}, format="json").status_code == 401
    response = client.put(mute_url(direct.pk), {"until": None}, format="json")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"
    assert client.delete(mute_url(direct.pk)).status_code == 401


def test_get_gives_the_defaults_whole(api, student):
    body = api(student).get(PREFS).json()
    assert body == {
        "email_enabled": True,
        "push_enabled": True,
        "push_show_content": True,
        "kinds": {
            "direct": {"in_app": True, "push": True, "email": True},
            "group": {"in_app": False, "push": False, "email": False},
            "mention": {"in_app": True, "push": True, "email": True},
            "support": {"in_app": True, "push": True, "email": True},
            "added": {"in_app": True, "push": False, "email": False},
            "thread_reply": {"in_app": True, "push": True, "email": False},
            "reminder": {"in_app": True, "push": True, "email": True},
        },
        "quiet_hours": None,
        "digest": "daily",
        "digest_hour": 8,
        "digest_weekday": 0,
        "time_zone": "UTC",
    }


def test_patch_changes_what_it_names_and_a_token_works(api, student):
    token = account_services.issue_api_token(user=student)
    client = api()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    response = client.patch(
        PREFS,
        {
            "kinds": {"group": {"push": True}},
            "quiet_hours": {"start": "22:00", "end": "07:00"},
            "time_zone": "America/New_York",
            "digest": "weekly",
            "digest_weekday": 6,
        },
        format="json",
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["kinds"]["group"] == {"in_app": False, "push": True, "email": False}
    assert body["quiet_hours"] == {"start": "22:00", "end": "07:00"}
    assert (body["time_zone"], body["digest"], body["digest_weekday"]) == (
        "America/New_York",
        "weekly",
        6,
    )
    assert body["email_enabled"] is True and body["digest_hour"] == 8
    assert client.get(PREFS).json() == body
    # null clears the quiet hours.
    cleared = client.patch(PREFS, {"quiet_hours": None}, format="json").json()
    assert cleared["quiet_hours"] is None
    assert NotificationPreference.objects.get(user=student).quiet_hours_start is None


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"kinds": {"reactions": {"email": True}}}, "kinds"),
        ({"kinds": {"direct": {"sms": True}}}, "kinds"),
        ({"kinds": {"direct": {"email": "true"}}}, "kinds"),
        ({"email_enabled": "false"}, "email_enabled"),
        ({"push_enabled": 0}, "push_enabled"),
        ({"digest_hour": 24}, "digest_hour"),
        ({"digest_hour": "8"}, "digest_hour"),
        ({"digest_weekday": 7}, "digest_weekday"),
        ({"digest": "hourly"}, "digest"),
        ({"time_zone": "Mars/Olympus"}, "time_zone"),
        ({"quiet_hours": {"start": "22:00"}}, "quiet_hours"),
        ({"quiet_hours": {"start": "7:00", "end": "08:00"}}, "quiet_hours"),
        ({"quiet_hours": {"start": "08:00", "end": "08:00"}}, "quiet_hours"),
    ],
)
def test_bad_input_is_400_naming_the_field(api, student, body, field):
    response = api(student).patch(PREFS, body, format="json")
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error["code"] == "invalid"
    assert list(error["fields"]) == [field]
    assert not NotificationPreference.objects.exists()
    assert User.objects.get(pk=student.pk).time_zone == "UTC"


def test_a_session_write_needs_its_csrf_token(api, student):
    response = api(student, enforce_csrf=True).patch(PREFS, {"digest": "off"}, format="json")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "forbidden"


def test_a_member_mutes_and_unmutes(api, direct, student):
    client = api(student)
    until = (timezone.now() + dt.timedelta(hours=1)).replace(microsecond=0)
    response = client.put(mute_url(direct.pk), {"until": until.isoformat()}, format="json")
    assert response.status_code == 200, response.content
    assert response.json() == {"conversation_id": str(direct.pk), "until": until.isoformat()}
    assert selectors.active_mute(student, direct.pk).until == until

    response = client.put(mute_url(direct.pk), {"until": None}, format="json")
    assert response.json()["until"] is None
    assert selectors.active_mute(student, direct.pk).until is None

    assert client.delete(mute_url(direct.pk)).status_code == 204
    assert selectors.mute_for(student, direct.pk) is None
    assert client.delete(mute_url(direct.pk)).status_code == 204  # harmless again


def test_a_non_member_or_unknown_conversation_is_404(api, direct, outsider):
    client = api(outsider)
    for conversation_id in (direct.pk, uuid.uuid4()):
        response = client.put(mute_url(conversation_id), {"until": None}, format="json")
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "not_found"
        assert client.delete(mute_url(conversation_id)).status_code == 404
    assert not selectors.active_mutes(outsider).exists()


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"until": "tomorrow"},
        {"until": "2099-01-01T10:00:00"},  # no offset
        {"until": "2000-01-01T10:00:00Z"},  # past
        {"until": 4102444800},
        # Past year 9999 in UTC: PostgreSQL would store it and then fail to
        # read it back, and with it the fan-out of the whole conversation.
        {"until": "9999-12-31T23:59:59-23:59"},
        # Stored, it would not show in any zone east of UTC (an overflow):
        # an end is within a year; for ever is no end.
        {"until": "9999-12-31T23:59:00Z"},
        {"until": "2200-01-01T00:00:00Z"},
    ],
)
def test_a_bad_until_is_400_naming_it(api, direct, student, body):
    response = api(student).put(mute_url(direct.pk), body, format="json")
    assert response.status_code == 400
    assert list(response.json()["error"]["fields"]) == ["until"]
    assert selectors.mute_for(student, direct.pk) is None


def test_a_mute_until_a_time_with_an_offset_is_answered_in_utc(api, student, direct):
    """As every time in an answer (api.md): the same moment, written +00:00."""
    moment = (timezone.now() + dt.timedelta(days=2)).replace(microsecond=0)
    there = moment.astimezone(dt.timezone(dt.timedelta(hours=-7)))
    answer = api(student).put(mute_url(direct.pk), {"until": there.isoformat()}, format="json")
    assert answer.status_code == 200, answer.json()
    until = answer.json()["until"]
    assert until.endswith("+00:00"), until
    assert dt.datetime.fromisoformat(until) == moment
    assert selectors.active_mute(student, direct.pk).until == moment
