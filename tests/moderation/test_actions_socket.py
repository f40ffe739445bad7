"""Moderators' actions as members' sockets see them: ``message.hidden`` and
``message.restored`` to the conversation, ``moderation.warning`` to the
warned person alone, ``muted`` errors on sends, and a deactivated
person's sockets closed."""

import uuid

import pytest
from asgiref.sync import sync_to_async
from django.contrib.auth.models import Group

from accounts.models import MentorAssignment, Role
from messaging import services
from messaging.moderation.services import actions
from tests.realtime.conftest import _fresh_presence, open_socket  # noqa: F401 - fixtures

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]

orm = sync_to_async
SECRET = "a rude remark about pineapples"


@pytest.fixture
def moderator(make_user):
    user = make_user(Role.MENTOR, name="Mo Moderator")
    user.groups.add(Group.objects.get(name="Moderators"))
    return user


@pytest.fixture
def group(assigned, make_user):
    mentor, student = assigned
    other = make_user(Role.STUDENT, name="Olive Other")
    MentorAssignment.objects.create(mentor=mentor, student=other)
    conversation = services.create_conversation(
        creator=mentor, kind="group", participants=[student, other], title="Study"
    )
    conversation.other = other
    return conversation


def send_frame(conversation, content="hello"):
    return {
        "type": "message.send",
        "conversation_id": str(conversation.pk),
        "client_id": str(uuid.uuid4()),
        "content": content,
    }


async def test_hide_and_restore_reach_every_member_socket(open_socket, group, assigned, moderator):  # noqa: F811
    mentor, student = assigned
    sender = await open_socket(student)
    watcher = await open_socket(mentor)
    await sender.send(send_frame(group, SECRET))
    message_id = (await sender.recv_type("ack"))["message"]["id"]
    await sender.recv_type("message.new")
    await watcher.recv_type("message.new")

    await orm(actions.hide_message)(moderator=moderator, message_id=message_id, note="rude")
    for socket in (sender, watcher):
        frame = await socket.recv_type("message.hidden")
        shown = frame["message"]
        assert shown["id"] == message_id and shown["hidden"] is True
        assert shown["content"] == "" and shown["attachments"] == []

    # A reconnecting page catches up with the placeholder, never the content.
    reply = await watcher.request(
        {"type": "history.fetch", "conversation_id": str(group.pk), "limit": 10}
    )
    (shown,) = reply["messages"]
    assert shown["hidden"] is True and shown["content"] == ""
    await watcher.send({"type": "resume", "ref": "r", "cursors": {str(group.pk): 0}})
    resumed = await watcher.recv_type("history")
    assert [m["hidden"] for m in resumed["messages"]] == [True]
    assert SECRET not in str(resumed)
    await watcher.recv_type("resume.done")

    # Its sender cannot edit it over the socket either.
    reply = await sender.request(
        {"type": "message.edit", "message_id": message_id, "content": "nicer"}
    )
    assert reply["type"] == "error" and reply["code"] == "hidden"

    await orm(actions.restore_message)(moderator=moderator, message_id=message_id, note="ok")
    for socket in (sender, watcher):
        frame = await socket.recv_type("message.restored")
        assert frame["message"]["hidden"] is False and frame["message"]["content"] == SECRET
    await sender.close()
    await watcher.close()
