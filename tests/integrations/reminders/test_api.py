"""The reminders' REST API: shapes, and bad input answered clearly."""

import datetime as dt
import uuid

import pytest
from django.utils import timezone

from messaging.integrations.models import Reminder, ReminderState
from messaging.integrations.reminders import services

pytestmark = pytest.mark.django_db


def iso(minutes: int) -> str:
    return (timezone.now() + dt.timedelta(minutes=minutes)).isoformat()


def test_set_list_read_snooze_and_cancel(api, student, message):
    client = api(student)
    made = client.post(
        "/api/reminders/",
        {"message_id": str(message.pk), "preset": "in_1_hour", "note": "reply"},
        format="json",
    )
    assert made.status_code == 201, made.content
    body = made.json()
    assert body["state"] == "pending"
    assert body["note"] == "reply"
    assert body["excerpt"] == "Please read chapter 4 before Friday"
    assert body["url"] == f"/c/{message.conversation_id}/#seq-{message.seq}"
    # A direct conversation has no title: it is named after the other person.
    assert body["conversation_title"] == message.sender.display_name
    reminder_id = body["id"]

    listed = client.get("/api/reminders/").json()
    assert [r["id"] for r in listed["reminders"]] == [reminder_id]
    assert listed["reminders"][0]["conversation_title"] == message.sender.display_name
    assert "tomorrow_9" in listed["presets"]
    assert client.get(f"/api/reminders/{reminder_id}/").json()["id"] == reminder_id

    snoozed = client.patch(f"/api/reminders/{reminder_id}/", {"remind_at": iso(300)}, format="json")
    assert snoozed.status_code == 200, snoozed.content
    assert snoozed.json()["remind_at"] != body["remind_at"]

    assert client.delete(f"/api/reminders/{reminder_id}/").status_code == 204
    assert client.delete(f"/api/reminders/{reminder_id}/").status_code == 204
    assert client.get("/api/reminders/").json()["reminders"] == []
    assert client.get(f"/api/reminders/{reminder_id}/").status_code == 404


def test_fired_reminders_stay_listed(api, student, message):
    reminder = services.create_reminder(
        user=student, message_id=message.pk, remind_at=timezone.now() + dt.timedelta(minutes=5)
    )
    services.fire_reminder(reminder_id=reminder.pk)
    [listed] = api(student).get("/api/reminders/").json()["reminders"]
    assert listed["state"] == "fired" and listed["fired_at"]


def test_someone_elses_reminder_is_not_found(api, student, outsider, message):
    reminder = services.create_reminder(
        user=student, message_id=message.pk, remind_at=timezone.now() + dt.timedelta(hours=1)
    )
    client = api(outsider)
    missing = client.get(f"/api/reminders/{uuid.uuid4()}/")
    for response in (
        client.get(f"/api/reminders/{reminder.pk}/"),
        client.patch(f"/api/reminders/{reminder.pk}/", {"preset": "in_1_hour"}, format="json"),
        client.delete(f"/api/reminders/{reminder.pk}/"),
        client.get(f"/api/reminders/{reminder.pk}/ics"),
    ):
        assert response.status_code == 404
        assert response.json() == missing.json()
    assert client.get("/api/reminders/").json()["reminders"] == []
    assert Reminder.objects.get().state == ReminderState.PENDING


def test_an_invisible_message_answers_as_a_missing_one(api, outsider, message):
    client = api(outsider)
    invisible = client.post(
        "/api/reminders/", {"message_id": str(message.pk), "preset": "in_1_hour"}, format="json"
    )
    missing = client.post(
        "/api/reminders/", {"message_id": str(uuid.uuid4()), "preset": "in_1_hour"}, format="json"
    )
    assert invisible.status_code == missing.status_code == 404
    assert invisible.json() == missing.json()
    assert invisible.json()["error"]["code"] == "not_found"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"preset": "someday"}, "preset"),
        ({"remind_at": "tomorrow morning"}, "remind_at"),
        ({"remind_at": "2030-01-01T09:00:00"}, "remind_at"),  # no zone
        ({"remind_at": "2001-01-01T09:00:00Z"}, None),  # past
        ({"remind_at": "9999-12-31T23:59:59-23:59"}, "remind_at"),  # past year 9999 in UTC
        ({}, None),
        ({"preset": "in_1_hour", "remind_at": "2030-01-01T09:00:00Z"}, None),
        ({"preset": "in_1_hour", "note": "x" * 501}, "note"),
        ({"preset": ["in_1_hour"]}, "preset"),
    ],
)
def test_bad_input_is_a_clear_400(api, student, message, body, field):
    response = api(student).post(
        "/api/reminders/", {"message_id": str(message.pk), **body}, format="json"
    )
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error["code"] == "invalid"
    if field:
        assert field in str(error.get("fields", error))
    assert not Reminder.objects.exists()


def test_a_malformed_body_or_id(api, student, message):
    client = api(student)
    broken = client.post("/api/reminders/", "{not json", content_type="application/json")
    assert broken.status_code == 400
    no_uuid = client.post(
        "/api/reminders/", {"message_id": "42", "preset": "in_1_hour"}, format="json"
    )
    assert no_uuid.status_code == 400
    # A JSON number is not an id, whatever UUID it could be read as.
    number = client.post("/api/reminders/", {"message_id": 5, "preset": "in_1_hour"}, format="json")
    assert number.status_code == 400 and number.json()["error"]["code"] == "invalid"
    assert client.get("/api/reminders/not-a-uuid/").status_code == 404


def test_anonymous_is_refused(api):
    assert api().get("/api/reminders/").status_code == 401


def test_a_preset_is_read_on_the_clocks_of_the_zone_given(api, student, message):
    """A browser whose person never chose a zone sends its own: "tomorrow at
    9:00" is 9:00 there, not in the profile's UTC; snoozing too."""
    from zoneinfo import ZoneInfo

    assert student.time_zone == "UTC"
    client = api(student)
    # Read before and after the request: a run across Tokyo's midnight.
    tokyo_days = {timezone.now().astimezone(ZoneInfo("Asia/Tokyo")).date()}
    made = client.post(
        "/api/reminders/",
        {"message_id": str(message.pk), "preset": "tomorrow_9", "time_zone": "Asia/Tokyo"},
        format="json",
    )
    tokyo_days.add(timezone.now().astimezone(ZoneInfo("Asia/Tokyo")).date())
    assert made.status_code == 201, made.content
    fires = dt.datetime.fromisoformat(made.json()["remind_at"]).astimezone(ZoneInfo("Asia/Tokyo"))
    assert (fires.hour, fires.minute) == (9, 0)
    assert fires.date() in {day + dt.timedelta(days=1) for day in tokyo_days}

    snoozed = client.patch(
        f"/api/reminders/{made.json()['id']}/",
        {"preset": "next_monday_9", "time_zone": "America/New_York"},
        format="json",
    )
    assert snoozed.status_code == 200, snoozed.content
    fires = dt.datetime.fromisoformat(snoozed.json()["remind_at"])
    fires = fires.astimezone(ZoneInfo("America/New_York"))
    assert (fires.weekday(), fires.hour, fires.minute) == (0, 9, 0)

    # An unknown zone is refused, with a note alone too.
    refused = client.patch(
        f"/api/reminders/{made.json()['id']}/",
        {"note": "later", "time_zone": "Mars/Olympus"},
        format="json",
    )
    assert refused.status_code == 400
    assert Reminder.objects.get(pk=made.json()["id"]).note == ""
    refused = client.post(
        "/api/reminders/",
        {"message_id": str(message.pk), "preset": "tomorrow_9", "time_zone": "Mars/Olympus"},
        format="json",
    )
    assert refused.status_code == 400
    assert refused.json()["error"]["code"] == "invalid"
    assert "time_zone" in refused.json()["error"]["message"]
