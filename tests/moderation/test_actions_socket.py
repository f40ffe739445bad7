"""Moderators' actions as members' sockets see them: ``message.hidden`` and
``message.restored`` to the conversation, ``moderation.warning`` to the
warned person alone, ``muted`` errors on sends, and a deactivated
person's sockets closed."""

import uuid

import pytest
from asgiref.sync import sync_to_async
from django.contrib.auth.models import Group, Permission

from accounts.models import MentorAssignment, Role
from messaging import services
from messaging.models import Message
from messaging.moderation.services import actions
from tests.realtime.conftest import _fresh_presence, open_socket  # noqa: F401 - fixtures

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]

orm = sync_to_async
SECRET = "a rude remark about pineapples"


@pytest.fixture
def moderator(make_user):
    """A mentor in the Moderators group. A transactional test's flush
    removes the group its migration made: made again here as it was."""
    group, _ = Group.objects.get_or_create(name="Moderators")
    group.permissions.add(
        Permission.objects.get(codename="moderate", content_type__app_label="messaging")
    )
    user = make_user(Role.MENTOR, name="Mo Moderator")
    user.groups.add(group)
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


async def test_warning_reaches_only_the_senders_sockets(open_socket, group, assigned, moderator):  # noqa: F811
    mentor, student = assigned
    sender = await open_socket(student)
    other_tab = await open_socket(student)
    watcher = await open_socket(mentor)
    await sender.send(send_frame(group, "rude"))
    message_id = (await sender.recv_type("ack"))["message"]["id"]
    await sender.recv_type("message.new")
    await other_tab.recv_type("message.new")
    await watcher.recv_type("message.new")

    warning = await orm(actions.warn_sender)(
        moderator=moderator, message_id=message_id, note="rude", text="Mind your words."
    )
    for socket in (sender, other_tab):
        frame = await socket.recv_type("moderation.warning")
        assert frame["warning"] == {
            "id": str(warning.pk),
            "conversation_id": str(group.pk),
            "message_id": message_id,
            "text": "Mind your words.",
            "created_at": warning.created_at.isoformat(),
        }
    assert await watcher.nothing()
    for socket in (sender, other_tab, watcher):
        await socket.close()


async def test_muted_sender_gets_a_muted_error_frame_and_nothing_is_delivered(
    open_socket,  # noqa: F811
    group,
    direct,
    assigned,
    moderator,
):
    mentor, student = assigned
    sender = await open_socket(student)
    other_tab = await open_socket(student)
    watcher = await open_socket(mentor)
    mute = await orm(actions.mute_user)(
        moderator=moderator, user_id=student.pk, conversation_id=group.pk, minutes=15, note="x"
    )
    # Every tab of the muted person is told at once; nobody else is.
    told = {
        "id": str(mute.pk),
        "conversation_id": str(group.pk),
        "everywhere": False,
        "until": mute.ends_at.isoformat(),
    }
    for socket in (sender, other_tab):
        assert (await socket.recv_type("moderation.muted"))["mute"] == told
    reply = await sender.request(send_frame(group, "let me speak"))
    assert reply["type"] == "error" and reply["code"] == "muted"
    assert reply["until"] == mute.ends_at.isoformat()
    assert 0 < reply["retry_after"] <= 15 * 60
    assert "in this conversation" in reply["message"]
    assert await watcher.nothing()

    # The direct conversation is not muted.
    await sender.send(send_frame(direct, "still here"))
    assert (await sender.recv_type("ack"))["message"]["content"] == "still here"
    assert (await watcher.recv_type("message.new"))["message"]["content"] == "still here"

    # Lifted: told, and the same socket sends again at once.
    lifted = await orm(actions.lift_mute)(moderator=moderator, mute_id=mute.pk, note="ok")
    for socket in (sender, other_tab):
        # (Both saw "still here" in the direct conversation first.)
        frame = await socket.recv_type("moderation.unmuted", also_skip=("message.new",))
        assert frame["mute"] == {**told, "until": lifted.lifted_at.isoformat()}
    await sender.send(send_frame(group, "thanks"))
    assert (await sender.recv_type("ack"))["message"]["content"] == "thanks"
    assert (await watcher.recv_type("message.new"))["message"]["content"] == "thanks"
    assert await watcher.nothing()
    for socket in (sender, other_tab, watcher):
        await socket.close()


async def test_deactivation_closes_the_persons_sockets(open_socket, assigned, moderator):  # noqa: F811
    _, student = assigned
    socket = await open_socket(student)
    await orm(actions.deactivate_user)(moderator=moderator, user_id=student.pk, note="threats")
    closed = await socket.communicator.receive_output(timeout=3)
    while closed.get("type") == "websocket.send":  # presence chatter before the close
        closed = await socket.communicator.receive_output(timeout=3)
    assert closed == {"type": "websocket.close", "code": 4401}


async def test_a_moderator_deletes_anothers_message_through_the_queue_not_the_socket(
    open_socket,  # noqa: F811
    group,
    assigned,
    moderator,
):
    """The socket's ``message.delete`` is one's own messages only, even for
    a member who moderates; the queue's delete (with its note) reaches the
    members as ``message.deleted``."""
    mentor, student = assigned
    await orm(lambda: mentor.groups.add(*moderator.groups.all()))()
    result = await orm(services.send_message)(
        sender=student, conversation_id=group.pk, content=SECRET, client_id=uuid.uuid4()
    )
    message_id = str(result.message.pk)
    socket = await open_socket(mentor)
    reply = await socket.request({"type": "message.delete", "message_id": message_id})
    assert reply["type"] == "error" and reply["code"] == "forbidden"
    assert reply["message"] == "You can change only your own messages."
    message = await orm(Message.objects.get)(pk=message_id)
    assert message.deleted_at is None and message.content == SECRET

    await orm(actions.delete_message)(moderator=mentor, message_id=message_id, note="rude")
    deleted = await socket.recv_type("message.deleted")
    assert deleted["message"]["id"] == message_id and deleted["message"]["content"] == ""
    await socket.close()
