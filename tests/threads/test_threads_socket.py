"""Replies and threads over the socket (real ASGI stack, PostgreSQL, Redis):
``message.send`` with ``parent_id``/``reply_to_id``, ``thread.fetch``,
``thread.read``, ``thread.follow``, and the live ``thread.updated``."""

import uuid

import pytest
from asgiref.sync import sync_to_async

from messaging import services
from messaging.threads.models import Thread
from tests.threads.conftest import send

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]

orm = sync_to_async


def send_frame(conversation, content="hello", **fields):
    return {
        "type": "message.send",
        "conversation_id": str(conversation.pk),
        "client_id": str(uuid.uuid4()),
        "content": content,
        **fields,
    }


async def test_a_reply_over_the_socket_is_acked_and_announced_with_its_thread(
    open_socket, people, group
):
    mentor, ann, bob = people
    root = await orm(send)(mentor, group, "root")
    ann_socket = await open_socket(ann)
    bob_socket = await open_socket(bob)
    ack = await ann_socket.request(
        send_frame(group, "a reply", parent_id=str(root.pk), reply_to_id=str(root.pk))
    )
    assert ack["type"] == "ack", ack
    message = ack["message"]
    assert message["parent_id"] == str(root.pk)
    assert message["also_to_conversation"] is False
    assert message["reply_to"]["id"] == str(root.pk)
    assert message["reply_to"]["excerpt"] == "root"
    new = await bob_socket.recv_type("message.new", also_skip=("thread.updated",))
    assert new["message"]["id"] == message["id"] and new["message"]["parent_id"] == str(root.pk)
    updated = await bob_socket.recv_type("thread.updated")
    assert updated["thread_id"] == str(root.pk)
    assert updated["conversation_id"] == str(group.pk)
    assert updated["thread"]["reply_count"] == 1
    assert updated["thread"]["last_reply_seq"] == message["seq"]
    assert [u["id"] for u in updated["thread"]["last_repliers"]] == [str(ann.pk)]
    # A reply to that reply joins the root's thread; the count follows live.
    first = await ann_socket.recv_type("thread.updated", also_skip=("message.new",))
    assert first["thread"]["reply_count"] == 1
    ack = await bob_socket.request(send_frame(group, "me too", parent_id=message["id"]))
    assert ack["message"]["parent_id"] == str(root.pk)
    updated = await ann_socket.recv_type("thread.updated", also_skip=("message.new",))
    assert updated["thread"]["reply_count"] == 2
    assert [u["id"] for u in updated["thread"]["last_repliers"]] == [str(bob.pk), str(ann.pk)]
    await ann_socket.close()
    await bob_socket.close()


async def test_bad_reply_targets_are_refused_and_the_socket_stays_usable(
    open_socket, people, group, make_user
):
    mentor, ann, bob = people
    elsewhere = await orm(services.create_conversation)(
        creator=mentor, kind="group", participants=[ann], title="Elsewhere"
    )
    foreign = await orm(send)(mentor, elsewhere, "over there")
    gone = await orm(send)(mentor, group, "gone soon")
    await orm(services.delete_message)(actor=mentor, message_id=gone.pk)
    socket = await open_socket(ann)
    bad = [
        {"parent_id": str(foreign.pk)},
        {"parent_id": str(uuid.uuid4())},
        {"parent_id": str(gone.pk)},
        {"reply_to_id": str(foreign.pk)},
        {"parent_id": "not-a-uuid"},
        {"parent_id": 5},
        {"also_to_conversation": True},
        {"parent_id": str(gone.pk), "also_to_conversation": "true"},
    ]
    for fields in bad:
        error = await socket.request(send_frame(group, "x", **fields))
        assert error["type"] == "error" and error["code"] == "invalid", (fields, error)
    ok = await socket.request(send_frame(group, "still here"))
    assert ok["type"] == "ack" and ok["message"]["seq"] == gone.seq + 1
    await socket.close()


async def test_thread_fetch_pages_back_and_forward_and_resume_carries_replies(
    open_socket, people, group
):
    mentor, ann, bob = people
    root = await orm(send)(mentor, group, "root")
    replies = []
    for i in range(5):
        replies.append(await orm(send)(ann if i % 2 else bob, group, f"r{i}", parent_id=root.pk))
        await orm(send)(mentor, group, f"main {i}")  # the main stream goes on between
    socket = await open_socket(mentor)
    latest = await socket.request(
        {"type": "thread.fetch", "thread_id": str(root.pk), "limit": 2}
    )
    assert latest["type"] == "thread.history"
    assert latest["thread_id"] == str(root.pk) and latest["conversation_id"] == str(group.pk)
    assert latest["root"]["id"] == str(root.pk)
    assert latest["root"]["thread"]["reply_count"] == 5
    assert [m["content"] for m in latest["messages"]] == ["r3", "r4"]
    assert latest["has_more"] is True and latest["unread"] == 5
    older = await socket.request(
        {
            "type": "thread.fetch",
            "thread_id": str(root.pk),
            "before_seq": latest["messages"][0]["seq"],
            "limit": 2,
        }
    )
    assert [m["content"] for m in older["messages"]] == ["r1", "r2"] and older["has_more"]
    forward = await socket.request(
        {"type": "thread.fetch", "thread_id": str(root.pk), "after_seq": replies[0].seq}
    )
    assert [m["content"] for m in forward["messages"]] == ["r1", "r2", "r3", "r4"]
    assert forward["has_more"] is False
    # Resume: replies are messages of the stream, each with its parent.
    await socket.send({"type": "resume", "ref": "r", "cursors": {str(group.pk): root.seq}})
    history = await socket.recv_type("history")
    seen = {m["content"]: m for m in history["messages"]}
    assert seen["r2"]["parent_id"] == str(root.pk)
    assert seen["main 2"]["parent_id"] is None
    await socket.recv_type("resume.done")
    # Bad cursors and a reply's id are refused; the socket goes on.
    for frame, code in [
        ({"after_seq": 1, "before_seq": 5}, "invalid"),
        ({"limit": 0}, "invalid"),
        ({"thread_id": "x"}, "invalid"),
        ({"thread_id": str(replies[0].pk)}, "not_found"),
        ({"thread_id": str(uuid.uuid4())}, "not_found"),
    ]:
        error = await socket.request({"type": "thread.fetch", "thread_id": str(root.pk), **frame})
        assert error["type"] == "error" and error["code"] == code, (frame, error)
    assert (await socket.request({"type": "ping"}))["type"] == "pong"
    await socket.close()


async def test_thread_read_moves_forward_and_tells_every_tab(open_socket, people, group):
    mentor, ann, bob = people
    root = await orm(send)(mentor, group, "root")
    replies = [await orm(send)(ann, group, f"r{i}", parent_id=root.pk) for i in range(3)]
    tab1 = await open_socket(mentor)
    tab2 = await open_socket(mentor)
    ok = await tab1.request(
        {"type": "thread.read", "thread_id": str(root.pk), "seq": replies[1].seq}
    )
    assert ok["type"] == "ok"
    for tab in (tab1, tab2):
        event = await tab.recv_type("thread.read")
        assert event == {
            "type": "thread.read",
            "conversation_id": str(group.pk),
            "thread_id": str(root.pk),
            "up_to_seq": replies[1].seq,
            "unread": 1,
        }
    # Backwards changes nothing.
    await tab1.request({"type": "thread.read", "thread_id": str(root.pk), "seq": 1})
    assert (await tab2.recv_type("thread.read"))["up_to_seq"] == replies[1].seq
    page = await tab1.request({"type": "thread.fetch", "thread_id": str(root.pk)})
    assert page["unread"] == 1
    error = await tab1.request({"type": "thread.read", "thread_id": str(root.pk), "seq": -1})
    assert error["code"] == "invalid"
    await tab1.close()
    await tab2.close()


async def test_thread_follow(open_socket, people, group):
    mentor, ann, bob = people
    root = await orm(send)(mentor, group, "root")
    await orm(send)(ann, group, "r", parent_id=root.pk)
    socket = await open_socket(bob)
    ok = await socket.request({"type": "thread.follow", "thread_id": str(root.pk), "following": True})
    assert ok["type"] == "ok"
    follow = await orm(lambda: Thread.objects.get(root=root).follows.get(user=bob))()
    assert follow.following is True
    ok = await socket.request(
        {"type": "thread.follow", "thread_id": str(root.pk), "following": False}
    )
    await orm(follow.refresh_from_db)()
    assert ok["type"] == "ok" and follow.following is False
    for value in (1, "true", None):
        error = await socket.request(
            {"type": "thread.follow", "thread_id": str(root.pk), "following": value}
        )
        assert error["code"] == "invalid"
    await socket.close()


async def test_a_non_member_gets_the_answer_of_a_foreign_conversation(
    open_socket, people, group, outsider
):
    mentor, ann, bob = people
    root = await orm(send)(mentor, group, "root")
    await orm(send)(ann, group, "r", parent_id=root.pk)
    socket = await open_socket(outsider)
    history = await socket.request(
        {"type": "history.fetch", "conversation_id": str(group.pk)}
    )
    expected = history["code"]
    assert expected in ("forbidden", "not_found")
    for frame in (
        {"type": "thread.fetch", "thread_id": str(root.pk)},
        {"type": "thread.read", "thread_id": str(root.pk), "seq": 2},
        {"type": "thread.follow", "thread_id": str(root.pk), "following": True},
    ):
        error = await socket.request(frame)
        assert error["type"] == "error" and error["code"] == expected, (frame, error)
    error = await socket.request(send_frame(group, "x", parent_id=str(root.pk)))
    assert error["code"] == expected
    # It never hears the thread's events either.
    await orm(send)(ann, group, "again", parent_id=root.pk)
    assert await socket.nothing()
    await socket.close()
