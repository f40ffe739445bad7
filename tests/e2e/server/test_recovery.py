"""The recovery backup (docs/e2e.md, "Recovery")."""

import os

import pytest

from messaging.e2e.models import Device as DeviceRow
from messaging.e2e.models import DeviceStatus, EncryptedConversation, RecoveryBackup
from messaging.models import AuditAction, AuditLog
from tests.e2e.scheme import b64

pytestmark = pytest.mark.django_db


def backup_body(device, **changes) -> dict:
    return {
        "device_id": str(device.id),
        "salt": b64(os.urandom(16)),
        "iterations": 600_000,
        "nonce": b64(os.urandom(12)),
        "ciphertext": b64(os.urandom(300)),
        **changes,
    }


def test_put_then_get(api, register, trio):
    mentor, _, _ = trio
    laptop = register(mentor)
    client = api(mentor)
    assert client.get("/api/e2e/recovery/").status_code == 404
    recovery = register(mentor, approver=laptop, kind="recovery")
    body = backup_body(recovery)
    response = client.put("/api/e2e/recovery/", body, format="json")
    assert response.status_code == 200, response.json()
    fetched = client.get("/api/e2e/recovery/").json()
    assert fetched == response.json()
    assert {k: fetched[k] for k in body} == body
    assert fetched["created_at"]
    row = AuditLog.objects.get(action=AuditAction.E2E_RECOVERY_SET)
    assert row.details == {"device_id": str(recovery.id), "replaced": False}
    # Nothing of the backup itself is in the audit log.
    assert body["ciphertext"] not in str(list(AuditLog.objects.values_list("details", flat=True)))


def test_a_new_recovery_key_revokes_the_old_recovery_device(api, register, trio, encrypted_group):
    mentor, _, _ = trio
    laptop = register(mentor)
    client = api(mentor)
    old = register(mentor, approver=laptop, kind="recovery")
    assert client.put("/api/e2e/recovery/", backup_body(old), format="json").status_code == 200
    EncryptedConversation.objects.filter(pk=encrypted_group.pk).update(
        key_version=1, rotation_required=False
    )
    new = register(mentor, approver=laptop, kind="recovery")
    response = client.put("/api/e2e/recovery/", backup_body(new), format="json")
    assert response.status_code == 200
    assert response.json()["device_id"] == str(new.id)
    assert DeviceRow.objects.get(pk=old.id).status == DeviceStatus.REVOKED
    assert DeviceRow.objects.get(pk=new.id).status == DeviceStatus.ACTIVE
    assert str(RecoveryBackup.objects.get(user=mentor).device_id) == new.id
    # The old recovery device had envelopes: a new key is needed.
    assert EncryptedConversation.objects.get(pk=encrypted_group.pk).rotation_required is True


def test_the_device_must_be_an_active_recovery_device_of_yours(api, register, trio):
    mentor, student, _ = trio
    laptop = register(mentor)
    client = api(mentor)
    response = client.put("/api/e2e/recovery/", backup_body(laptop), format="json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid"
    student_laptop = register(student)
    theirs = register(student, approver=student_laptop, kind="recovery")
    assert client.put("/api/e2e/recovery/", backup_body(theirs), format="json").status_code == 400
    assert not RecoveryBackup.objects.exists()


def test_a_recovery_device_needs_an_approval(api, register, trio):
    from tests.e2e.server.keys import Device

    mentor, _, _ = trio
    register(mentor)
    recovery = Device(user_id=mentor.pk, kind="recovery")
    response = api(mentor).post("/api/e2e/devices/", recovery.body(), format="json")
    assert response.status_code == 400


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("iterations", 599_999),
        ("iterations", "600000"),
        ("salt", b64(b"x" * 15)),
        ("nonce", "not base64!"),
        ("ciphertext", "QUJD\n"),
    ],
)
def test_bad_backup_fields_are_named(api, register, trio, field, value):
    mentor, _, _ = trio
    laptop = register(mentor)
    recovery = register(mentor, approver=laptop, kind="recovery")
    response = api(mentor).put(
        "/api/e2e/recovery/", backup_body(recovery, **{field: value}), format="json"
    )
    assert response.status_code == 400
    assert list(response.json()["error"]["fields"]) == [field]


def test_revoking_the_recovery_device_deletes_its_backup(api, register, trio):
    mentor, _, _ = trio
    laptop = register(mentor)
    client = api(mentor)
    recovery = register(mentor, approver=laptop, kind="recovery")
    client.put("/api/e2e/recovery/", backup_body(recovery), format="json")
    assert client.delete(f"/api/e2e/devices/{recovery.id}/").status_code == 204
    assert client.get("/api/e2e/recovery/").status_code == 404
