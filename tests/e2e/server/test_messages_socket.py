"""Encrypted sends and edits over the socket (docs/protocol.md): the ack
and message.new carry e2e; refusals are error frames and the connection
stays usable."""

import uuid

import pytest
from asgiref.sync import sync_to_async

from messaging.e2e.models import EncryptedConversation
from messaging.models import Message

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]

orm = sync_to_async


def send_frame(conv, client_id, e2e):
    return {
        "type": "message.send",
        "conversation_id": str(conv.pk),
        "client_id": str(client_id),
        "e2e": e2e,
    }


async def test_an_encrypted_send_is_acked_and_delivered(open_socket, e2e_msg_pair, e2e_msg_group):
    mentor, student = e2e_msg_pair
    sender = await open_socket(mentor)
    reader = await open_socket(student)
    client_id, sealed = await orm(e2e_msg_group.seal)(mentor, "between us")
    ack = await sender.request(send_frame(e2e_msg_group, client_id, sealed.e2e))
    assert ack["type"] == "ack", ack
    assert ack["message"]["message_type"] == "encrypted"
    assert ack["message"]["e2e"] == sealed.e2e
    assert ack["message"]["content"] == ""
    new = await reader.recv_type("message.new")
    assert new["message"]["e2e"] == sealed.e2e
    assert "e2e" not in new["message"]["metadata"]
    again = await sender.request(send_frame(e2e_msg_group, client_id, sealed.e2e))
    assert again["type"] == "ack" and again["duplicate"] is True
    assert again["message"]["id"] == ack["message"]["id"]
    await sender.close()
    await reader.close()


async def test_a_stale_key_is_an_error_frame_and_the_socket_goes_on(
    open_socket, e2e_msg_pair, e2e_msg_group
):
    mentor, _ = e2e_msg_pair
    socket = await open_socket(mentor)
    # A member left: a rotation is required before anyone writes.
    await orm(EncryptedConversation.objects.filter(pk=e2e_msg_group.pk).update)(
        rotation_required=True
    )
    client_id, sealed = await orm(e2e_msg_group.seal)(mentor, "too soon")
    refused = await socket.request(send_frame(e2e_msg_group, client_id, sealed.e2e))
    assert refused["type"] == "error"
    assert refused["code"] == "e2e_key_stale"
    assert refused["key_version"] == 1 and refused["rotation_required"] is True
    assert refused["conversation_id"] == str(e2e_msg_group.pk)
    # The new key (version 2) arrives; the client encrypts again with it.
    await orm(EncryptedConversation.objects.filter(pk=e2e_msg_group.pk).update)(
        key_version=2, rotation_required=False
    )
    client_id, sealed = await orm(e2e_msg_group.seal)(mentor, "now", key_version=2)
    ack = await socket.request(send_frame(e2e_msg_group, client_id, sealed.e2e))
    assert ack["type"] == "ack", ack
    assert ack["message"]["e2e"]["key_version"] == 2
    await socket.close()


async def test_refusals_over_the_socket(open_socket, e2e_msg_pair, e2e_msg_group, e2e_msg_plain):
    mentor, _ = e2e_msg_pair
    socket = await open_socket(mentor)
    client_id, sealed = await orm(e2e_msg_group.seal)(mentor, "x")
    plain = await socket.request(
        {
            "type": "message.send",
            "conversation_id": str(e2e_msg_group.pk),
            "client_id": str(uuid.uuid4()),
            "content": "in the clear",
        }
    )
    assert (plain["type"], plain["code"]) == ("error", "e2e_required")
    wrong = await socket.request(send_frame(e2e_msg_plain, uuid.uuid4(), sealed.e2e))
    assert (wrong["type"], wrong["code"]) == ("error", "e2e_not_allowed")
    bad = await socket.request(send_frame(e2e_msg_group, client_id, {**sealed.e2e, "nonce": "%%%"}))
    assert (bad["type"], bad["code"]) == ("error", "invalid")
    # A null e2e beside plain words is a malformed e2e, not "encrypted
    # content": the words name the field that is wrong.
    null = await socket.request({**send_frame(e2e_msg_plain, uuid.uuid4(), None), "content": "hi"})
    assert (null["type"], null["code"]) == ("error", "invalid")
    assert "e2e must be an object" in null["message"]
    # Over 64 KiB of base64 does not fit in a frame (PARLEY_MAX_FRAME_BYTES,
    # 64 KiB): the frame's own limit answers first (the REST API says too_large).
    await socket.send(
        send_frame(e2e_msg_group, client_id, {**sealed.e2e, "ciphertext": "A" * 65_600})
    )
    big = await socket.recv_type("error")
    assert big["code"] == "frame_too_large"
    assert (
        await orm(
            Message.objects.filter(conversation__in=[e2e_msg_group.pk, e2e_msg_plain.pk]).count
        )()
        == 0
    )
    pong = await socket.request({"type": "ping"})
    assert pong["type"] == "pong"
    await socket.close()


async def test_an_encrypted_edit_is_announced(
    open_socket, e2e_msg_pair, e2e_msg_group, e2e_msg_send
):
    mentor, student = e2e_msg_pair
    message, _ = await orm(e2e_msg_send)(mentor, e2e_msg_group, "draft")
    sender = await open_socket(mentor)
    reader = await open_socket(student)
    _, again = await orm(e2e_msg_group.seal)(mentor, "final", client_id=message.client_id)
    ok = await sender.request(
        {"type": "message.edit", "message_id": str(message.pk), "e2e": again.e2e}
    )
    assert ok["type"] == "ok", ok
    edited = await reader.recv_type("message.edited")
    assert edited["message"]["e2e"] == again.e2e
    refused = await sender.request(
        {"type": "message.edit", "message_id": str(message.pk), "content": "clear"}
    )
    assert (refused["type"], refused["code"]) == ("error", "e2e_required")
    await sender.close()
    await reader.close()
