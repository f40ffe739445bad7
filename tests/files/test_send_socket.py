# ruff: noqa: F811 - the socket fixtures of tests/realtime, imported, are the tests' arguments
"""Sending with files over the socket (message.send ``attachments``): the
ack and every member's message.new carry the attachments; a resend is a
duplicate ack; bad lists are clear errors that change nothing."""

import uuid

import pytest
from asgiref.sync import sync_to_async

from messaging.files.models import Attachment, AttachmentKind
from messaging.models import Message
from tests.files.factories import make_attachment
from tests.realtime.conftest import _fresh_presence, open_socket  # noqa: F401 - fixtures

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]

orm = sync_to_async


def send_frame(conversation, attachments, content="", client_id=None) -> dict:
    return {
        "type": "message.send",
        "conversation_id": str(conversation.pk),
        "client_id": str(client_id or uuid.uuid4()),
        "content": content,
        "attachments": attachments,
    }


async def test_send_with_files_reaches_every_member_with_them(open_socket, direct, assigned):
    mentor, student = assigned
    pdf = await orm(make_attachment)(uploader=student, conversation=direct, kind=AttachmentKind.PDF)
    image = await orm(make_attachment)(uploader=student, conversation=direct)
    student_socket = await open_socket(student)
    mentor_socket = await open_socket(mentor)
    frame = send_frame(direct, [str(pdf.pk), str(image.pk)], content="draft and diagram")
    await student_socket.send(frame)

    ack = await student_socket.recv_type("ack")
    assert ack["duplicate"] is False
    message = ack["message"]
    assert message["message_type"] == "file"
    assert message["file_url"] == f"/api/attachments/{pdf.pk}/content/"
    assert [a["id"] for a in message["attachments"]] == [str(pdf.pk), str(image.pk)]
    assert {a["message_id"] for a in message["attachments"]} == {message["id"]}
    new = await mentor_socket.recv_type("message.new")
    assert new["message"]["attachments"] == message["attachments"]
    assert new["message"]["attachments"][1]["thumbnail"]["width"] == image.thumbnail_width

    # The same frame again: the stored message, announced to nobody.
    await student_socket.send(dict(frame))
    again = await student_socket.recv_type("ack", also_skip=("message.new",))
    assert again["duplicate"] is True
    assert again["message"]["id"] == message["id"]
    assert again["message"]["attachments"] == message["attachments"]
    assert await mentor_socket.nothing()
    await student_socket.close()
    await mentor_socket.close()


async def test_a_caption_is_optional_only_with_files(open_socket, direct, assigned):
    _, student = assigned
    socket = await open_socket(student)
    reply = await socket.request(send_frame(direct, []))
    assert reply["type"] == "error" and reply["code"] == "invalid"
    assert "empty" in reply["message"]
    image = await orm(make_attachment)(uploader=student, conversation=direct)
    reply = await socket.request({**send_frame(direct, [str(image.pk)]), "content": None})
    assert reply["type"] == "ack"
    assert reply["message"]["message_type"] == "image" and reply["message"]["content"] == ""
    await socket.close()


@pytest.mark.parametrize(
    ("attachments", "code"),
    [
        ("one", "invalid"),
        ({"id": "x"}, "invalid"),
        ([7], "invalid"),
        (["not-a-uuid"], "invalid"),
        ([str(uuid.UUID(int=3))] * 2, "invalid"),
        ([str(uuid.UUID(int=n)) for n in range(1, 12)], "too_many_files"),
        ([str(uuid.UUID(int=3))], "invalid"),  # no such upload
    ],
)
async def test_bad_attachment_lists_are_clear_errors(
    open_socket, direct, assigned, attachments, code
):
    _, student = assigned
    socket = await open_socket(student)
    frame = send_frame(direct, attachments, content="x")
    reply = await socket.request(frame)
    assert reply["type"] == "error"
    assert reply["code"] == code
    assert reply["client_id"] == frame["client_id"]
    assert await orm(Message.objects.count)() == 0
    # The socket stays usable.
    ok = await socket.request(send_frame(direct, [], content="still here"))
    assert ok["type"] == "ack"
    await socket.close()


async def test_someone_elses_or_a_sent_upload_is_refused_and_nothing_changes(
    open_socket, direct, assigned
):
    mentor, student = assigned
    theirs = await orm(make_attachment)(uploader=mentor, conversation=direct)
    mine = await orm(make_attachment)(uploader=student, conversation=direct)
    socket = await open_socket(student)
    reply = await socket.request(send_frame(direct, [str(mine.pk), str(theirs.pk)]))
    assert reply["type"] == "error" and reply["code"] == "invalid"
    assert await orm(Attachment.objects.filter(message__isnull=True).count)() == 2

    first = await socket.request(send_frame(direct, [str(mine.pk)]))
    assert first["type"] == "ack"
    other = await orm(make_attachment)(uploader=student, conversation=direct)
    reply = await socket.request(send_frame(direct, [str(other.pk), str(mine.pk)]))
    assert reply["type"] == "error" and reply["code"] == "invalid"
    assert "already sent" in reply["message"]
    assert await orm(Message.objects.count)() == 1
    assert (await orm(Attachment.objects.get)(pk=other.pk)).message_id is None
    await socket.close()
