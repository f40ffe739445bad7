"""Replies and threads over the REST API."""

import uuid

import pytest

from messaging import services
from messaging.models import Message
from messaging.threads.models import Thread, ThreadFollow
from tests.threads.conftest import send

pytestmark = [pytest.mark.services, pytest.mark.django_db]


def post_message(client, conversation, content="hi", **fields):
    return client.post(
        f"/api/conversations/{conversation.pk}/messages/",
        {"client_id": str(uuid.uuid4()), "content": content, **fields},
        format="json",
    )


def test_sending_a_reply_and_a_quote(api, people, group):
    mentor, ann, bob = people
    root = send(mentor, group, "root")
    client = api(ann)
    response = post_message(
        client, group, "reply", parent_id=str(root.pk), also_to_conversation=True
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["parent_id"] == str(root.pk) and body["also_to_conversation"] is True
    quoted = post_message(client, group, "quote", reply_to_id=body["id"])
    assert quoted.status_code == 201
    assert quoted.json()["reply_to"]["id"] == body["id"]
    assert quoted.json()["reply_to"]["parent_id"] == str(root.pk)
    assert quoted.json()["parent_id"] is None
    assert Thread.objects.get(root=root).reply_count == 1
    # The same client_id again: the stored reply, 200.
    client_id = str(uuid.uuid4())
    for status in (201, 200):
        response = client.post(
            f"/api/conversations/{group.pk}/messages/",
            {"client_id": client_id, "content": "once", "parent_id": str(root.pk)},
            format="json",
        )
        assert response.status_code == status
    assert Thread.objects.get(root=root).reply_count == 2


@pytest.mark.parametrize(
    "fields",
    [
        {"parent_id": "nope"},
        {"parent_id": 7},
        {"reply_to_id": str(uuid.uuid4())},
        {"parent_id": str(uuid.uuid4())},
        {"also_to_conversation": True},
        {"also_to_conversation": "true"},
        {"also_to_conversation": 1},
    ],
)
def test_bad_reply_fields_are_400_invalid(api, people, group, fields):
    mentor, ann, bob = people
    response = post_message(api(ann), group, "x", **fields)
    assert response.status_code == 400, response.json()
    assert response.json()["error"]["code"] == "invalid"
    assert not Message.objects.filter(sender=ann).exists()


@pytest.mark.parametrize("absent", [{"also_to_conversation": None}, {"parent_id": None}])
def test_null_reply_fields_read_as_absent_as_on_the_socket(api, people, group, absent):
    mentor, ann, bob = people
    response = post_message(api(ann), group, "plain", **absent)
    assert response.status_code == 201, response.json()
    assert response.json()["also_to_conversation"] is False
    assert response.json()["parent_id"] is None


def test_thread_detail_messages_read_and_follow(api, people, group):
    mentor, ann, bob = people
    root = send(mentor, group, "root")
    replies = [send(ann, group, f"r{i}", parent_id=root.pk) for i in range(4)]
    client = api(mentor)
    detail = client.get(f"/api/threads/{root.pk}/").json()
    assert detail["thread_id"] == str(root.pk) and detail["conversation_id"] == str(group.pk)
    assert detail["root"]["id"] == str(root.pk)
    assert detail["thread"]["reply_count"] == 4
    assert detail["thread"]["last_reply_seq"] == replies[-1].seq
    assert (detail["following"], detail["last_read_seq"], detail["unread"]) == (True, 0, 4)

    page = client.get(f"/api/threads/{root.pk}/messages/", {"limit": 3}).json()
    assert [m["content"] for m in page["messages"]] == ["r1", "r2", "r3"] and page["has_more"]
    back = client.get(
        f"/api/threads/{root.pk}/messages/", {"before_seq": page["next_before_seq"]}
    ).json()
    assert [m["content"] for m in back["messages"]] == ["r0"] and not back["has_more"]
    forward = client.get(f"/api/threads/{root.pk}/messages/", {"after_seq": replies[1].seq}).json()
    assert [m["content"] for m in forward["messages"]] == ["r2", "r3"]
    both = client.get(f"/api/threads/{root.pk}/messages/", {"after_seq": 1, "before_seq": 9})
    assert both.status_code == 400 and both.json()["error"]["code"] == "invalid"

    read = client.post(f"/api/threads/{root.pk}/read/", {"seq": replies[2].seq}, format="json")
    assert read.status_code == 200
    assert read.json() == {
        "thread_id": str(root.pk),
        "conversation_id": str(group.pk),
        "following": True,
        "last_read_seq": replies[2].seq,
        "unread": 1,
    }
    bad = client.post(f"/api/threads/{root.pk}/read/", {"seq": "3"}, format="json")
    assert bad.status_code == 400

    bob_client = api(bob)
    assert bob_client.get(f"/api/threads/{root.pk}/").json()["following"] is False
    followed = bob_client.put(f"/api/threads/{root.pk}/follow/")
    assert followed.status_code == 200 and followed.json()["following"] is True
    assert ThreadFollow.objects.get(user=bob, thread_id=root.pk).following
    unfollowed = bob_client.delete(f"/api/threads/{root.pk}/follow/")
    assert unfollowed.status_code == 200 and unfollowed.json()["following"] is False

    # A message without replies is a thread's root too, empty so far.
    lonely = send(bob, group, "nobody answers")
    empty = bob_client.get(f"/api/threads/{lonely.pk}/").json()
    assert empty["thread"] is None and empty["unread"] == 0
    assert bob_client.get(f"/api/threads/{lonely.pk}/messages/").json()["messages"] == []
    # A reply is not a thread.
    assert client.get(f"/api/threads/{replies[0].pk}/").status_code == 404


def test_followed_threads_list(api, people, group):
    mentor, ann, bob = people
    first = send(mentor, group, "first")
    second = send(mentor, group, "second")
    send(ann, group, "a", parent_id=first.pk)
    send(ann, group, "b", parent_id=second.pk)
    client = api(mentor)
    body = client.get("/api/threads/").json()
    assert [t["root"]["id"] for t in body["threads"]] == [str(second.pk), str(first.pk)]
    item = body["threads"][0]
    assert item["conversation_id"] == str(group.pk)
    assert item["thread"]["reply_count"] == 1 and item["unread"] == 1 and item["following"]
    assert body["has_more"] is False and body["next_offset"] is None
    page = client.get("/api/threads/", {"limit": 1}).json()
    assert len(page["threads"]) == 1 and page["has_more"] and page["next_offset"] == 1
    rest = client.get("/api/threads/", {"limit": 1, "offset": 1}).json()
    assert [t["root"]["id"] for t in rest["threads"]] == [str(first.pk)]
    assert client.get("/api/threads/", {"limit": "x"}).status_code == 400
    assert client.get("/api/threads/", {"offset": "-1"}).status_code == 400
    assert api(bob).get("/api/threads/").json()["threads"] == []


def test_a_non_member_gets_what_the_conversation_api_answers(api, people, group, outsider):
    mentor, ann, bob = people
    root = send(mentor, group, "root")
    send(ann, group, "r", parent_id=root.pk)
    client = api(outsider)
    expected = client.get(f"/api/conversations/{group.pk}/messages/").status_code
    assert expected in (403, 404)
    for method, url, body in [
        ("get", f"/api/threads/{root.pk}/", None),
        ("get", f"/api/threads/{root.pk}/messages/", None),
        ("post", f"/api/threads/{root.pk}/read/", {"seq": 2}),
        ("put", f"/api/threads/{root.pk}/follow/", None),
        ("delete", f"/api/threads/{root.pk}/follow/", None),
    ]:
        response = getattr(client, method)(url, body, format="json")
        assert response.status_code == expected, (method, url, response.json())
    response = post_message(client, group, "x", parent_id=str(root.pk))
    assert response.status_code == expected
    assert client.get("/api/threads/").json()["threads"] == []
    assert not ThreadFollow.objects.filter(user=outsider).exists()
    # An unknown id: 404, as for a message.
    assert api(ann).get(f"/api/threads/{uuid.uuid4()}/").status_code == 404
    services.remove_participant(actor=mentor, conversation_id=group.pk, user=ann)
    assert api(ann).get(f"/api/threads/{root.pk}/").status_code in (403, 404)


def test_the_preferences_page_and_api_list_thread_replies(api, people):
    mentor, ann, bob = people
    page = api(ann).get("/settings/notifications/")
    assert page.status_code == 200
    assert "Replies in threads you follow" in page.content.decode()
    kinds = api(ann).get("/api/notifications/preferences/").json()["kinds"]
    assert kinds["thread_reply"] == {"in_app": True, "push": True, "email": False}
    changed = api(ann).patch(
        "/api/notifications/preferences/",
        {"kinds": {"thread_reply": {"push": False}}},
        format="json",
    )
    assert changed.status_code == 200
    assert changed.json()["kinds"]["thread_reply"]["push"] is False
