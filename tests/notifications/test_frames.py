"""notification.new and notification.read over real sockets (the real ASGI
stack, PostgreSQL and Redis): every tab of the person hears them, nobody
else does."""

import uuid

import pytest
from asgiref.sync import sync_to_async

from accounts.models import MentorAssignment, Role
from messaging.models import ConversationType
from notifications.models import Notification
from notifications.services import feed

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]

orm = sync_to_async


async def next_of(socket, frame_type, timeout=5):
    """The next frame of ``frame_type``, whatever comes before it (the
    protocol orders a person's bell frames with nothing else)."""
    for _ in range(50):
        frame = await socket.recv(timeout)
        if frame["type"] == frame_type:
            return frame
    raise AssertionError(f"no {frame_type}")


async def test_a_direct_message_rings_every_tab_of_the_recipient(open_socket, direct, assigned):
    mentor, student = assigned
    tabs = [await open_socket(student), await open_socket(student)]
    sender = await open_socket(mentor)
    client_id = str(uuid.uuid4())
    await sender.send(
        {
            "type": "message.send",
            "conversation_id": str(direct.pk),
            "client_id": client_id,
            "content": "Are you free at 3?",
        }
    )
    ack = await sender.recv_type("ack")
    for tab in tabs:
        frame = await next_of(tab, "notification.new")
        assert frame["unread_count"] == 1
        entry = frame["notification"]
        assert entry["kind"] == "direct"
        assert entry["message_id"] == ack["message"]["id"]
        assert entry["actor"]["id"] == str(mentor.pk)
        assert entry["data"]["excerpt"] == "Are you free at 3?"
        assert entry["url"].endswith(f"#seq-{ack['message']['seq']}")
    # The sender's own bell stays quiet.
    assert await sender.nothing(ignore=("presence", "receipt", "message.new"))

    notification = await orm(Notification.objects.get)(user=student)
    await orm(feed.mark_read)(user=student, notification_id=notification.pk)
    for tab in tabs:
        frame = await next_of(tab, "notification.read")
        assert frame == {
            "type": "notification.read",
            "ids": [str(notification.pk)],
            "unread_count": 0,
        }
    for socket in [*tabs, sender]:
        await socket.close()


async def test_reading_the_conversation_clears_the_bell_on_every_tab(open_socket, direct, assigned):
    mentor, student = assigned
    reader, other_tab = await open_socket(student), await open_socket(student)
    sender = await open_socket(mentor)
    await sender.send(
        {
            "type": "message.send",
            "conversation_id": str(direct.pk),
            "client_id": str(uuid.uuid4()),
            "content": "ping",
        }
    )
    ack = await sender.recv_type("ack")
    await next_of(other_tab, "notification.new")
    reply = await reader.request(
        {"type": "read", "conversation_id": str(direct.pk), "seq": ack["message"]["seq"]}
    )
    assert reply["type"] == "ok"
    cleared = await next_of(other_tab, "notification.read")
    assert cleared["unread_count"] == 0 and len(cleared["ids"]) == 1
    for socket in (reader, other_tab, sender):
        await socket.close()


async def test_here_reaches_the_members_online(open_socket, mentor, make_user):
    def world():
        online = make_user(Role.STUDENT, name="On Line")
        offline = make_user(Role.STUDENT, name="Off Line")
        for s in (online, offline):
            MentorAssignment.objects.create(mentor=mentor, student=s)
        from messaging import services

        group = services.create_conversation(
            creator=mentor, kind=ConversationType.GROUP, participants=[online, offline], title="G"
        )
        return online, offline, group

    online, offline, group = await orm(world)()
    socket = await open_socket(online)
    sender = await open_socket(mentor)
    await sender.send(
        {
            "type": "message.send",
            "conversation_id": str(group.pk),
            "client_id": str(uuid.uuid4()),
            "content": "@here standup",
        }
    )
    await sender.recv_type("ack")
    # Being added rang first; the mention is the one about a message.
    while True:
        frame = await next_of(socket, "notification.new")
        if frame["notification"]["kind"] == "mention":
            break
    kinds = await orm(
        lambda: set(
            Notification.objects.filter(message__isnull=False).values_list("user_id", "kind")
        )
    )()
    assert kinds == {(online.pk, "mention")}
    await socket.close()
    await sender.close()


async def test_a_deleted_message_takes_its_notification_off_every_tab(
    open_socket, direct, assigned
):
    from messaging import services

    mentor, student = assigned
    tab = await open_socket(student)
    sender = await open_socket(mentor)
    await sender.send(
        {
            "type": "message.send",
            "conversation_id": str(direct.pk),
            "client_id": str(uuid.uuid4()),
            "content": "oops, wrong person",
        }
    )
    ack = await sender.recv_type("ack")
    new = await next_of(tab, "notification.new")
    await orm(services.delete_message)(actor=mentor, message_id=ack["message"]["id"])
    gone = await next_of(tab, "notification.read")
    assert gone == {
        "type": "notification.read",
        "ids": [new["notification"]["id"]],
        "unread_count": 0,
        "removed": True,
    }
    await tab.close()
    await sender.close()


async def test_a_mute_is_shown_in_every_tab_of_the_person_and_nobody_elses(
    open_socket, direct, assigned
):
    import datetime as dt

    from django.utils import timezone

    from notifications.services import mutes

    mentor, student = assigned
    tabs = [await open_socket(student), await open_socket(student)]
    other = await open_socket(mentor)
    until = timezone.now() + dt.timedelta(hours=8)
    await orm(mutes.mute_conversation)(user=student, conversation_id=direct.pk, until=until)
    for tab in tabs:
        frame = await next_of(tab, "conversation.muted")
        assert frame == {
            "type": "conversation.muted",
            "conversation_id": str(direct.pk),
            "muted": True,
            "until": until.isoformat(),
        }
    await orm(mutes.unmute_conversation)(user=student, conversation_id=direct.pk)
    for tab in tabs:
        frame = await next_of(tab, "conversation.muted")
        assert frame["muted"] is False
        assert frame["until"] is None
    assert await other.nothing(ignore=("presence", "receipt"))
