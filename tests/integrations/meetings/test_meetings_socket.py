# ruff: noqa: F811 - the socket fixtures of tests/realtime, imported, are the tests' arguments
"""A call's message over the socket: every member gets it live as
``message.new`` with the call in its metadata and no join URL; a client's
``message.send`` cannot make one (the type is the server's to decide)."""

import json
import uuid

import pytest
from asgiref.sync import sync_to_async

from messaging.integrations.meetings import services as meetings
from messaging.models import Message, MessageType
from tests.realtime.conftest import _fresh_presence, open_socket  # noqa: F401 - fixtures

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]

orm = sync_to_async


async def test_members_get_the_call_live_and_a_client_cannot_forge_one(open_socket, group, people):
    mentor, ann, _ = people
    ann_socket = await open_socket(ann)
    mentor_socket = await open_socket(mentor)
    meeting = await orm(meetings.start_meeting)(
        actor=mentor, conversation_id=group.pk, title="Office hour"
    )
    new = await ann_socket.recv_type("message.new")
    message = new["message"]
    assert message["id"] == str(meeting.message_id)
    assert message["message_type"] == "meeting"
    assert message["sender"]["id"] == str(mentor.pk)
    assert message["metadata"]["meeting"] == {
        "id": str(meeting.pk),
        "provider": "jitsi",
        "title": "Office hour",
        "starts_at": meeting.starts_at.isoformat(),
    }
    assert meeting.room not in json.dumps(new) and "meet.example.org" not in json.dumps(new)
    await mentor_socket.recv_type("message.new")

    # A client's frame naming the type and forging the metadata: a text message.
    await mentor_socket.send(
        {
            "type": "message.send",
            "conversation_id": str(group.pk),
            "client_id": str(uuid.uuid4()),
            "content": "join here",
            "message_type": "meeting",
            "metadata": {"meeting": {"id": str(meeting.pk), "provider": "link"}},
        }
    )
    ack = await mentor_socket.recv_type("ack", also_skip=("message.new",))
    assert ack["message"]["message_type"] == "text"
    assert "meeting" not in ack["message"]["metadata"]
    meeting_messages = await orm(
        lambda: Message.objects.filter(message_type=MessageType.MEETING).count()
    )()
    assert meeting_messages == 1
    await ann_socket.close()
    await mentor_socket.close()
