"""The e2e frames on real sockets (docs/protocol.md, "End-to-end
encryption"): through the real ASGI application, PostgreSQL and Redis."""

import pytest
from asgiref.sync import sync_to_async

from messaging import services
from messaging.e2e.models import EncryptedConversation
from tests.e2e.server.keys import Device
from tests.realtime.conftest import NOTIFICATIONS

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]

orm = sync_to_async

# Membership frames that come with the change (tests/realtime test them).
MEMBERSHIP = ("conversation.updated", "conversation.added", "message.new")


async def test_adding_a_member_sends_rekey(open_socket, trio):
    mentor, first, second = trio
    group = await orm(services.create_conversation)(
        creator=mentor, kind="group", participants=[first], title="Welfare", encrypted=True
    )
    await orm(EncryptedConversation.objects.filter(pk=group.pk).update)(
        key_version=1, rotation_required=False
    )
    socket = await open_socket(first)
    await orm(services.add_participants)(actor=mentor, conversation_id=group.pk, users=[second])
    frame = await socket.recv_type("e2e.rekey", also_skip=MEMBERSHIP)
    assert frame == {"type": "e2e.rekey", "conversation_id": str(group.pk), "key_version": 1}
    await socket.close()


async def test_removing_a_member_sends_rekey_to_those_who_stay(open_socket, trio):
    mentor, first, second = trio
    group = await orm(services.create_conversation)(
        creator=mentor, kind="group", participants=[first, second], title="W", encrypted=True
    )
    socket = await open_socket(first)
    await orm(services.remove_participant)(actor=mentor, conversation_id=group.pk, user=second)
    frame = await socket.recv_type("e2e.rekey", also_skip=MEMBERSHIP)
    assert frame["conversation_id"] == str(group.pk)
    await socket.close()


async def test_a_plain_group_sends_no_rekey(open_socket, trio):
    mentor, first, second = trio
    group = await orm(services.create_conversation)(
        creator=mentor, kind="group", participants=[first], title="Plain"
    )
    socket = await open_socket(first)
    await orm(services.add_participants)(actor=mentor, conversation_id=group.pk, users=[second])
    await socket.recv_type("conversation.updated", also_skip=("message.new",))
    assert await socket.nothing(ignore=("presence", "message.new", "receipt")) is True
    await socket.close()


async def test_revoking_a_device_sends_devices_and_rekey(open_socket, trio, api):
    mentor, first, _ = trio
    group = await orm(services.create_conversation)(
        creator=mentor, kind="group", participants=[first], title="W", encrypted=True
    )
    await orm(EncryptedConversation.objects.filter(pk=group.pk).update)(
        key_version=2, rotation_required=False
    )
    laptop = Device(user_id=mentor.pk)
    client = await orm(api)(mentor)
    response = await orm(client.post)(
        "/api/e2e/devices/", laptop.body(self_signed=True), format="json"
    )
    assert response.status_code == 201
    member_socket = await open_socket(first)
    own_socket = await open_socket(mentor)
    response = await orm(client.delete)(f"/api/e2e/devices/{laptop.id}/")
    assert response.status_code == 204
    seen = {}
    while set(seen) != {"e2e.devices", "e2e.rekey"}:
        frame = await member_socket.recv()
        if frame["type"].startswith("e2e."):
            seen[frame["type"]] = frame
    assert seen["e2e.devices"] == {"type": "e2e.devices", "user_id": str(mentor.pk)}
    assert seen["e2e.rekey"] == {
        "type": "e2e.rekey",
        "conversation_id": str(group.pk),
        "key_version": 2,
    }
    own = await own_socket.recv_type("e2e.devices", also_skip=("e2e.rekey",))
    assert own["user_id"] == str(mentor.pk)
    # Once, from their user group: the hub released the conversation's copy
    # to the member's socket above, and skips the mentor's own sockets.
    assert await own_socket.nothing(timeout=1, ignore=("presence", "e2e.rekey", *NOTIFICATIONS))
    await member_socket.close()
    await own_socket.close()


async def test_a_new_key_sends_key(open_socket, trio, api):
    mentor, first, _ = trio
    group = await orm(services.create_conversation)(
        creator=mentor, kind="direct", participants=[first], encrypted=True
    )
    laptop = Device(user_id=mentor.pk)
    client = await orm(api)(mentor)
    await orm(client.post)("/api/e2e/devices/", laptop.body(self_signed=True), format="json")
    socket = await open_socket(first)
    envelope = laptop.wrap(
        conversation_id=group.pk,
        key_version=1,
        recipient_id=laptop.id,
        recipient_ecdh=laptop.ecdh_public,
        key=bytes(32),
    )
    response = await orm(client.post)(
        f"/api/e2e/conversations/{group.pk}/keys/",
        {"key_version": 1, "envelopes": [envelope]},
        format="json",
    )
    assert response.status_code == 201, response.json()
    frame = await socket.recv_type("e2e.key")
    assert frame == {"type": "e2e.key", "conversation_id": str(group.pk), "key_version": 1}
    await socket.close()
