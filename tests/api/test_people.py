import pytest
from asgiref.sync import async_to_sync

from accounts.models import Role
from messaging import services
from messaging.realtime import presence

pytestmark = [pytest.mark.services, pytest.mark.django_db]


def code(response):
    return response.json()["error"]["code"]


def test_me(api, group, mentor, student, send):
    send(mentor, group, "one")
    send(mentor, group, "two")
    response = api(student).get("/api/me/")
    assert response.status_code == 200
    assert response.json() == {
        "id": str(student.pk),
        "display_name": student.display_name,
        "role": "student",
        "email": student.email,
        "unread_total": 2,
    }


def test_messageable_users_follow_the_policy(api, assigned, admin_user, make_user):
    mentor, student = assigned
    make_user(Role.MENTOR)  # not this student's mentor
    make_user(Role.STUDENT)
    response = api(student).get("/api/users/messageable/")
    assert response.status_code == 200
    ids = {u["id"] for u in response.json()["users"]}
    assert ids == {str(mentor.pk), str(admin_user.pk)}
    assert set(response.json()["users"][0]) == {"id", "display_name", "role"}


@pytest.fixture
def online(mentor):
    channel = "test-api-presence-channel"
    async_to_sync(presence.connect)(mentor.pk, channel)
    yield mentor
    async_to_sync(presence.disconnect)(mentor.pk, channel)


# presence.statuses reads ``user_presence`` through database_sync_to_async,
# which runs on its own terms with the connection: no test transaction.
@pytest.mark.django_db(transaction=True)
def test_presence_of_contacts(api, group, student, online, make_user):
    offline_contact = make_user(Role.MENTOR)
    services.add_participants(actor=online, conversation_id=group.pk, users=[offline_contact])
    response = api(student).get(f"/api/presence/?user_ids={online.pk},{offline_contact.pk}")
    assert response.status_code == 200
    users = {u["user_id"]: u for u in response.json()["users"]}
    assert users[str(online.pk)]["status"] == "online"
    assert users[str(offline_contact.pk)]["status"] == "offline"
    assert set(users[str(online.pk)]) == {"user_id", "status", "last_seen"}


@pytest.mark.django_db(transaction=True)
def test_presence_leaves_out_strangers(api, student, outsider, online):
    # ``online`` (a mentor) is not the outsider's contact: nothing is told.
    response = api(outsider).get(f"/api/presence/?user_ids={online.pk},{student.pk}")
    assert response.status_code == 200
    assert response.json() == {"users": []}


@pytest.mark.parametrize(
    "query", ["", "?user_ids=", "?user_ids=nope", "?user_ids=" + ",".join(["x"] * 201)]
)
def test_presence_bad_query_is_invalid(api, student, query):
    response = api(student).get(f"/api/presence/{query}")
    assert response.status_code == 400
    assert code(response) == "invalid"


def test_presence_too_many_ids_is_invalid(api, student):
    import uuid

    ids = ",".join(str(uuid.uuid4()) for _ in range(201))
    response = api(student).get(f"/api/presence/?user_ids={ids}")
    assert response.status_code == 400
    assert "200" in response.json()["error"]["message"]
