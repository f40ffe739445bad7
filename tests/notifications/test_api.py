"""The notification centre's REST API: listing (paged, unread only), one and
all marked read, the unread count; only one's own notifications."""

import uuid

import pytest
from rest_framework.test import APIClient

from messaging import services
from notifications.models import Notification

pytestmark = pytest.mark.django_db(transaction=True)


def client_for(user=None):
    client = APIClient()
    if user is not None:
        client.force_login(user)
    return client


def send(user, conversation, text="hello"):
    return services.send_message(
        sender=user, conversation_id=conversation.pk, content=text, client_id=uuid.uuid4()
    ).message


def test_anonymous_is_401_everywhere(db):
    api = client_for()
    assert api.get("/api/notifications/").status_code == 401
    assert api.get("/api/notifications/unread-count/").status_code == 401
    assert api.post("/api/notifications/read-all/").status_code == 401
    assert api.post(f"/api/notifications/{uuid.uuid4()}/read/").status_code == 401


def test_list_pages_newest_first_and_counts(direct, assigned):
    mentor, student = assigned
    messages = [send(mentor, direct, f"m{i}") for i in range(5)]
    api = client_for(student)
    first = api.get("/api/notifications/?limit=2").json()
    assert [n["data"]["excerpt"] for n in first["notifications"]] == ["m4", "m3"]
    assert first["has_more"] is True and first["unread_count"] == 5
    entry = first["notifications"][0]
    assert entry["kind"] == "direct"
    assert entry["actor"]["id"] == str(mentor.pk)
    assert entry["message_id"] == str(messages[4].pk)
    assert entry["url"] == f"/c/{direct.pk}/#seq-{messages[4].seq}"
    rest = api.get(f"/api/notifications/?before={first['next_before']}&limit=10").json()
    assert [n["data"]["excerpt"] for n in rest["notifications"]] == ["m2", "m1", "m0"]
    assert rest["has_more"] is False and rest["next_before"] is None
    assert api.get("/api/notifications/unread-count/").json() == {"unread_count": 5}
    # The sender was told nothing.
    assert client_for(mentor).get("/api/notifications/").json()["notifications"] == []


def test_mark_one_then_all_read_and_unread_filter(direct, assigned):
    mentor, student = assigned
    for i in range(3):
        send(mentor, direct, f"m{i}")
    api = client_for(student)
    newest = api.get("/api/notifications/").json()["notifications"][0]
    reply = api.post(f"/api/notifications/{newest['id']}/read/")
    assert reply.status_code == 200 and reply.json()["read_at"] is not None
    assert api.get("/api/notifications/unread-count/").json()["unread_count"] == 2
    unread = api.get("/api/notifications/?unread=true").json()["notifications"]
    assert newest["id"] not in [n["id"] for n in unread] and len(unread) == 2
    done = api.post("/api/notifications/read-all/").json()
    assert done == {"marked": 2, "unread_count": 0}
    assert api.get("/api/notifications/?unread=true").json()["notifications"] == []


def test_other_peoples_notifications_are_404(direct, assigned):
    mentor, student = assigned
    send(mentor, direct)
    theirs = Notification.objects.get(user=student)
    api = client_for(mentor)
    reply = api.post(f"/api/notifications/{theirs.pk}/read/")
    assert reply.status_code == 404 and reply.json()["error"]["code"] == "not_found"
    assert api.get(f"/api/notifications/?before={theirs.pk}").status_code == 404
    theirs.refresh_from_db()
    assert theirs.read_at is None


def test_bad_query_is_400(student):
    api = client_for(student)
    for query in ("unread=yes", "limit=0", "limit=101", "limit=x", "before=nope"):
        reply = api.get(f"/api/notifications/?{query}")
        assert reply.status_code == 400, query
        assert reply.json()["error"]["code"] == "invalid"


def test_reading_the_conversation_clears_its_entries(direct, assigned):
    mentor, student = assigned
    first, second = send(mentor, direct, "a"), send(mentor, direct, "b")
    services.mark_read(user=student, conversation_id=direct.pk, up_to_seq=first.seq)
    api = client_for(student)
    unread = api.get("/api/notifications/?unread=true").json()["notifications"]
    assert [n["message_id"] for n in unread] == [str(second.pk)]
    services.mark_read(user=student, conversation_id=direct.pk, up_to_seq=second.seq)
    assert api.get("/api/notifications/unread-count/").json()["unread_count"] == 0
