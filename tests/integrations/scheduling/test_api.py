"""/api/scheduled-messages/: create, list, read, edit and cancel one's own
scheduled messages, and the clear errors for bad input."""

import uuid
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import Role
from messaging.integrations.models import ScheduledMessage, ScheduledState
from messaging.integrations.scheduling import services

pytestmark = pytest.mark.django_db

LIST = "/api/scheduled-messages/"


def one(scheduled_id) -> str:
    return f"{LIST}{scheduled_id}/"


@pytest.fixture
def client_for():
    def make(user) -> APIClient:
        client = APIClient()
        client.force_authenticate(user)
        return client

    return make


def local_tomorrow_nine(zone: str) -> str:
    day = timezone.now().astimezone(ZoneInfo(zone)).date() + timedelta(days=1)
    return f"{day.isoformat()}T09:00"


# A day within the year ahead, and a time on it with and without an offset.
DAY = (timezone.now() + timedelta(days=30)).date().isoformat()
AHEAD = f"{DAY}T09:00Z"


def create(client, conversation, **body):
    return client.post(
        LIST,
        {"conversation_id": str(conversation.pk), "content": "Hello later", **body},
        format="json",
    )


def test_a_local_time_is_read_in_the_authors_zone(direct, assigned, client_for):
    mentor, _ = assigned
    mentor.time_zone = "Asia/Tokyo"
    mentor.save(update_fields=["time_zone"])
    answer = create(client_for(mentor), direct, send_at=local_tomorrow_nine("Asia/Tokyo"))
    assert answer.status_code == 201, answer.json()
    body = answer.json()
    assert body["time_zone"] == "Asia/Tokyo"
    assert body["send_at_local"].endswith("T09:00+09:00")
    assert body["state"] == "scheduled" and body["conversation"]["id"] == str(direct.pk)
    assert body["message_id"] is None


def test_a_time_with_offset_is_that_instant(direct, assigned, client_for):
    mentor, _ = assigned
    at = (timezone.now() + timedelta(hours=3)).replace(microsecond=0)
    answer = create(client_for(mentor), direct, send_at=at.isoformat(), time_zone="UTC")
    assert answer.status_code == 201
    assert ScheduledMessage.objects.get().send_at == at


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        ({"send_at": "next tuesday"}, "ISO-8601"),
        ({"send_at": "2020-01-01T09:00Z"}, "in the past"),
        ({"send_at": "2999-01-01T09:00Z"}, "days ahead"),
        # Past year 9999 in UTC, by its offset or by the named zone.
        ({"send_at": "9999-12-31T23:00-05:00"}, "ISO-8601"),
        ({"send_at": "9999-12-31T23:59", "time_zone": "America/New_York"}, "ISO-8601"),
        ({"send_at": 12}, "valid string"),
        ({"send_at": f"{DAY}T09:00", "time_zone": "Nowhere/Land"}, "valid choice"),
        ({"send_at": AHEAD, "content": ""}, "empty"),
        ({"send_at": AHEAD, "content": "a\x00b"}, "NUL"),
    ],
)
def test_bad_input_is_refused_clearly(direct, assigned, client_for, body, needle):
    answer = create(client_for(assigned[0]), direct, **body)
    assert answer.status_code == 400, answer.json()
    error = answer.json()["error"]
    assert error["code"] == "invalid" and needle in error["message"], error
    assert not ScheduledMessage.objects.exists()


def test_oversize_content_is_too_long(direct, assigned, client_for, settings):
    answer = create(client_for(assigned[0]), direct, send_at=AHEAD, content="x" * 20_000)
    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == "too_long"


def test_a_conversation_one_is_not_in_is_not_found(direct, make_user, client_for):
    outsider = make_user(Role.MENTOR)
    answer = create(client_for(outsider), direct, send_at=local_tomorrow_nine("UTC"))
    missing = client_for(outsider).post(
        LIST,
        {"conversation_id": str(uuid.uuid4()), "content": "x", "send_at": AHEAD},
        format="json",
    )
    # The same answer for a conversation one is not in as for none at all.
    assert answer.status_code == missing.status_code == 404
    assert answer.json()["error"] == missing.json()["error"]
    assert answer.json()["error"]["code"] == "not_found"


def test_list_read_edit_and_cancel(direct, assigned, client_for):
    mentor, _ = assigned
    client = client_for(mentor)
    first = create(client, direct, send_at=local_tomorrow_nine("UTC")).json()
    second = create(client, direct, send_at=f"{DAY}T10:00Z", content="Second").json()

    listed = client.get(LIST).json()["scheduled_messages"]
    assert [s["id"] for s in listed] == [first["id"], second["id"]]
    assert client.get(one(first["id"])).json()["content"] == "Hello later"

    edited = client.patch(
        one(first["id"]), {"content": "Edited", "send_at": f"{DAY}T08:30"}, format="json"
    )
    assert edited.status_code == 200, edited.json()
    assert edited.json()["content"] == "Edited"
    assert edited.json()["send_at_local"] == f"{DAY}T08:30+00:00"

    nothing = client.patch(one(first["id"]), {}, format="json")
    assert nothing.status_code == 400

    cancelled = client.delete(one(second["id"]))
    assert cancelled.status_code == 200 and cancelled.json()["state"] == "cancelled"
    again = client.delete(one(second["id"]))
    assert again.status_code == 409 and again.json()["error"]["code"] == "not_scheduled"


def test_an_edit_keeps_the_zone_it_was_scheduled_in(direct, assigned, client_for):
    """Scheduled on Tokyo's clock by someone whose profile says Berlin: a
    new time without a zone is Tokyo's still, and the zone stays."""
    mentor, _ = assigned
    mentor.time_zone = "Europe/Berlin"
    mentor.save(update_fields=["time_zone"])
    client = client_for(mentor)
    made = create(client, direct, send_at=f"{DAY}T09:00", time_zone="Asia/Tokyo").json()
    assert made["time_zone"] == "Asia/Tokyo"
    edited = client.patch(one(made["id"]), {"send_at": f"{DAY}T10:00"}, format="json").json()
    assert edited["time_zone"] == "Asia/Tokyo"
    assert edited["send_at_local"] == f"{DAY}T10:00+09:00"
    # An instant (Z) is that instant, shown in the zone it keeps.
    instant = client.patch(one(made["id"]), {"send_at": f"{DAY}T03:00Z"}, format="json").json()
    assert instant["time_zone"] == "Asia/Tokyo"
    assert instant["send_at_local"] == f"{DAY}T12:00+09:00"
    # Naming another zone moves it there.
    moved = client.patch(
        one(made["id"]), {"send_at": f"{DAY}T10:00", "time_zone": "Europe/Berlin"}, format="json"
    ).json()
    assert moved["time_zone"] == "Europe/Berlin"


def test_someone_elses_id_is_not_found_like_a_missing_one(direct, assigned, client_for):
    mentor, student = assigned
    mine = create(client_for(mentor), direct, send_at=local_tomorrow_nine("UTC")).json()
    theirs = client_for(student)
    for answer in (
        theirs.get(one(mine["id"])),
        theirs.patch(one(mine["id"]), {"content": "hijack"}, format="json"),
        theirs.delete(one(mine["id"])),
        theirs.get(one(uuid.uuid4())),
    ):
        assert answer.status_code == 404
        assert answer.json()["error"]["code"] == "not_found"
    assert theirs.get(LIST).json()["scheduled_messages"] == []
    assert ScheduledMessage.objects.get().content == "Hello later"


def test_a_sent_one_shows_its_message(direct, assigned, client_for):
    mentor, _ = assigned
    client = client_for(mentor)
    created = create(client, direct, send_at=timezone.now().isoformat()).json()
    services.send_due()
    body = client.get(one(created["id"])).json()
    assert body["state"] == ScheduledState.SENT and body["message_seq"] == 1
    assert body["message_id"] is not None
    assert client.patch(one(created["id"]), {"content": "x"}, format="json").status_code == 409


def test_the_scheduled_page_lists_them_in_the_authors_zone(direct, assigned, client):
    mentor, _ = assigned
    mentor.time_zone = "Europe/Madrid"
    mentor.save(update_fields=["time_zone"])
    services.schedule_message(
        author=mentor,
        conversation_id=direct.pk,
        content="Page check",
        send_at=timezone.now() + timedelta(days=2),
        time_zone="Europe/Madrid",
    )
    client.force_login(mentor)
    page = client.get("/scheduled/")
    assert page.status_code == 200
    text = page.content.decode()
    assert "Page check" in text and "(Europe/Madrid)" in text and "data-scheduled-cancel" in text


def test_the_conversation_page_offers_the_schedule_control(direct, assigned, client):
    client.force_login(assigned[0])
    text = client.get(f"/c/{direct.pk}/").content.decode()
    assert 'id="schedule-open"' in text and 'type="datetime-local"' in text
    assert "js/scheduled.js" in text


def test_a_conversation_one_has_left_is_not_named(assigned, client_for, schedule):
    """A scheduled message outlives its author's membership; once they are
    removed, what the group is called now (or who is in it) is not theirs."""
    from messaging import services as messaging_services

    mentor, student = assigned
    group = messaging_services.create_conversation(
        creator=mentor, kind="group", participants=[student], title="Study group"
    )
    scheduled = schedule(student, group, "See you all")
    messaging_services.remove_participant(actor=mentor, conversation_id=group.pk, user=student)
    messaging_services.rename_conversation(
        actor=mentor, conversation_id=group.pk, title="Plan to expel Student"
    )
    client = client_for(student)
    rows = client.get(LIST).json()["scheduled_messages"]
    [row] = [r for r in rows if r["id"] == str(scheduled.pk)]
    assert "expel" not in str(row)
    assert row["conversation"]["name"] == "A conversation you left"
    assert "expel" not in str(client.get(one(scheduled.pk)).json())
