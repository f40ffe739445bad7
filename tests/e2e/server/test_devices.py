"""Registering, approving and revoking devices (docs/e2e.md, "Devices")."""

import uuid

import pytest

from messaging.e2e.models import Device as DeviceRow
from messaging.e2e.models import DeviceStatus, EncryptedConversation, KeyEnvelope
from messaging.models import AuditAction, AuditLog
from tests.e2e.scheme import member_devices
from tests.e2e.server.conftest import key_state
from tests.e2e.server.keys import Device, new_key

pytestmark = pytest.mark.django_db


def test_first_device_approves_itself_and_is_active(api, trio):
    mentor, _, _ = trio
    device = Device(user_id=mentor.pk)
    response = api(mentor).post("/api/e2e/devices/", device.body(self_signed=True), format="json")
    assert response.status_code == 201
    body = response.json()
    assert body["status"] == "active"
    assert body["approved_by"] == str(device.id)
    assert body["user_id"] == str(mentor.pk)
    assert body["approval_signature"]
    row = AuditLog.objects.get(action=AuditAction.E2E_DEVICE_ADD, actor=mentor)
    assert row.details == {"device_id": str(device.id), "kind": "browser", "status": "active"}


def test_first_device_must_sign_itself(api, trio):
    mentor, _, _ = trio
    device = Device(user_id=mentor.pk)
    response = api(mentor).post("/api/e2e/devices/", device.body(), format="json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid"
    other = Device(user_id=mentor.pk)
    body = device.body(self_signed=True)
    body["approval"]["signature"] = other.sign(device.statement())
    response = api(mentor).post("/api/e2e/devices/", body, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "bad_signature"
    assert not DeviceRow.objects.filter(user=mentor).exists()


def test_a_recovery_device_is_not_a_first_device(api, trio):
    mentor, _, _ = trio
    device = Device(user_id=mentor.pk, kind="recovery")
    response = api(mentor).post("/api/e2e/devices/", device.body(self_signed=True), format="json")
    assert response.status_code == 400
    assert response.json()["error"]["message"] == "Make a device first."


def test_second_device_is_pending_then_approved_with_envelopes(api, register, trio):
    mentor, student, _ = trio
    from messaging import services

    conversation = services.create_conversation(
        creator=mentor, kind="direct", participants=[student], encrypted=True
    )
    laptop = register(mentor)
    register(student)
    client = api(mentor)
    state = key_state(client, conversation.pk)
    key = new_key()
    envelopes = laptop.wrap_for(
        member_devices(state), conversation_id=conversation.pk, key_version=1, key=key
    )
    response = client.post(
        f"/api/e2e/conversations/{conversation.pk}/keys/",
        {"key_version": 1, "envelopes": envelopes},
        format="json",
    )
    assert response.status_code == 201, response.json()

    phone = register(mentor, pending=True)
    assert DeviceRow.objects.get(pk=phone.id).status == DeviceStatus.PENDING
    # A pending device receives no envelope and can fetch none.
    response = client.get(f"/api/e2e/envelopes/?device_id={phone.id}")
    assert response.status_code == 404

    rewrapped = laptop.wrap(
        conversation_id=conversation.pk,
        key_version=1,
        recipient_id=phone.id,
        recipient_ecdh=phone.ecdh_public,
        key=key,
    )
    response = client.post(
        f"/api/e2e/devices/{phone.id}/approve/",
        {**laptop.approval_of(phone), "envelopes": [rewrapped]},
        format="json",
    )
    assert response.status_code == 200, response.json()
    assert response.json()["status"] == "active"
    assert response.json()["approved_by"] == str(laptop.id)

    fetched = client.get(f"/api/e2e/envelopes/?device_id={phone.id}").json()["envelopes"]
    assert len(fetched) == 1
    assert fetched[0]["signer_user_id"] == str(mentor.pk)
    assert fetched[0]["signer_signing_public"] == laptop.signing_public
    assert phone.unwrap(fetched[0]) == key
    # Approving again: it is not pending any more.
    response = client.post(
        f"/api/e2e/devices/{phone.id}/approve/", laptop.approval_of(phone), format="json"
    )
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "not_pending"


def test_approval_with_a_wrong_signature_is_refused(api, register, trio):
    mentor, _, _ = trio
    laptop = register(mentor)
    phone = register(mentor, pending=True)
    stranger = Device(user_id=mentor.pk, id=laptop.id)  # the laptop's id, other keys
    response = api(mentor).post(
        f"/api/e2e/devices/{phone.id}/approve/", stranger.approval_of(phone), format="json"
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "bad_signature"
    assert DeviceRow.objects.get(pk=phone.id).status == DeviceStatus.PENDING


def test_approval_envelopes_must_be_signed_and_for_the_device(api, register, encrypted_group, trio):
    mentor, _, _ = trio
    laptop = register(mentor)
    phone = register(mentor, pending=True)
    client = api(mentor)
    good = laptop.wrap(
        conversation_id=encrypted_group.pk,
        key_version=1,
        recipient_id=phone.id,
        recipient_ecdh=phone.ecdh_public,
        key=new_key(),
    )
    # Version 1 does not exist yet (the conversation is at 0).
    response = client.post(
        f"/api/e2e/devices/{phone.id}/approve/",
        {**laptop.approval_of(phone), "envelopes": [good]},
        format="json",
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid"
    EncryptedConversation.objects.filter(pk=encrypted_group.pk).update(key_version=1)
    # Another wrapped key under the same signature: a server's substitution.
    other = "B" if good["wrapped"][0] == "A" else "A"
    forged = {**good, "wrapped": other + good["wrapped"][1:]}
    response = client.post(
        f"/api/e2e/devices/{phone.id}/approve/",
        {**laptop.approval_of(phone), "envelopes": [forged]},
        format="json",
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "bad_signature"
    assert not KeyEnvelope.objects.exists()
    assert DeviceRow.objects.get(pk=phone.id).status == DeviceStatus.PENDING


def test_someone_elses_device_is_not_found(api, register, trio):
    mentor, student, _ = trio
    register(mentor)
    student_laptop = register(student)
    student_phone = register(student, pending=True)
    laptop_of_mentor = DeviceRow.objects.get(user=mentor)
    client = api(mentor)
    response = client.post(
        f"/api/e2e/devices/{student_phone.id}/approve/",
        {"signer_device_id": str(laptop_of_mentor.pk), "signature": "A" * 86 + "=="},
        format="json",
    )
    assert response.status_code == 404
    assert client.delete(f"/api/e2e/devices/{student_laptop.id}/").status_code == 404
    assert DeviceRow.objects.get(pk=student_laptop.id).status == DeviceStatus.ACTIVE


def test_a_device_id_is_used_once(api, register, trio):
    mentor, student, _ = trio
    laptop = register(mentor)
    copy = Device(user_id=student.pk, id=laptop.id)
    response = api(student).post("/api/e2e/devices/", copy.body(self_signed=True), format="json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid"


def test_at_most_twenty_devices(api, register, trio, settings):
    mentor, _, _ = trio
    laptop = register(mentor)
    for _ in range(19):
        DeviceRow.objects.create(
            id=uuid.uuid4(),
            user=mentor,
            status=DeviceStatus.PENDING,
            ecdh_public=laptop.ecdh_public,
            signing_public=laptop.signing_public,
        )
    response = api(mentor).post(
        "/api/e2e/devices/", Device(user_id=mentor.pk).body(), format="json"
    )
    assert response.status_code == 400
    assert "20" in response.json()["error"]["message"]


def test_own_devices_listed_newest_first(api, register, trio):
    mentor, _, _ = trio
    laptop = register(mentor)
    phone = register(mentor, pending=True)
    listed = api(mentor).get("/api/e2e/devices/").json()["devices"]
    assert [d["id"] for d in listed] == [str(phone.id), str(laptop.id)]
    assert [d["status"] for d in listed] == ["pending", "active"]


def test_revoke_requires_rotation_everywhere_and_is_idempotent(
    api, register, encrypted_group, trio
):
    mentor, _, _ = trio
    laptop = register(mentor)
    EncryptedConversation.objects.filter(pk=encrypted_group.pk).update(
        key_version=3, rotation_required=False
    )
    client = api(mentor)
    assert client.delete(f"/api/e2e/devices/{laptop.id}/").status_code == 204
    state = EncryptedConversation.objects.get(pk=encrypted_group.pk)
    assert (state.key_version, state.rotation_required) == (3, True)
    row = DeviceRow.objects.get(pk=laptop.id)
    assert row.status == DeviceStatus.REVOKED and row.revoked_at is not None
    assert client.delete(f"/api/e2e/devices/{laptop.id}/").status_code == 204
    assert AuditLog.objects.filter(action=AuditAction.E2E_DEVICE_REVOKE).count() == 1
    # Revoked for good: it approves nothing.
    response = client.post(
        "/api/e2e/devices/", Device(user_id=mentor.pk).body(approver=laptop), format="json"
    )
    assert response.status_code == 400


def test_first_device_requires_rotation_where_the_person_is(api, encrypted_group, trio):
    mentor, student, _ = trio
    EncryptedConversation.objects.filter(pk=encrypted_group.pk).update(
        key_version=2, rotation_required=False
    )
    device = Device(user_id=student.pk)
    response = api(student).post("/api/e2e/devices/", device.body(self_signed=True), format="json")
    assert response.status_code == 201
    assert EncryptedConversation.objects.get(pk=encrypted_group.pk).rotation_required is True


def test_a_persons_devices_are_visible_to_whom_they_may_message(api, register, trio, make_user):
    mentor, student, other_student = trio
    laptop = register(student)
    register(student, pending=True)
    mentor_view = api(mentor).get(f"/api/e2e/users/{student.pk}/devices/")
    assert mentor_view.status_code == 200
    assert mentor_view.json() == {
        "user_id": str(student.pk),
        "devices": [mentor_view.json()["devices"][0]],
    }
    assert mentor_view.json()["devices"][0]["id"] == str(laptop.id)
    own = api(student).get(f"/api/e2e/users/{student.pk}/devices/")
    assert [d["id"] for d in own.json()["devices"]] == [str(laptop.id)]
    # Two students of one mentor share no conversation and may not message.
    stranger = api(other_student).get(f"/api/e2e/users/{student.pk}/devices/")
    nobody = api(other_student).get(f"/api/e2e/users/{uuid.uuid4()}/devices/")
    assert stranger.status_code == nobody.status_code == 404
    assert stranger.json() == nobody.json()
