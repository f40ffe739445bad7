"""Bad input is refused with 400 naming the field (docs/api.md)."""

import base64
import uuid

import pytest

from messaging.e2e.models import Device as DeviceRow
from tests.e2e.server.keys import Device

pytestmark = pytest.mark.django_db

# A valid P-256 point with y changed: not on the curve.
_GOOD = Device(user_id=uuid.uuid4()).ecdh_public
_RAW = bytearray(base64.b64decode(_GOOD))
_RAW[-1] ^= 1
OFF_CURVE = base64.b64encode(bytes(_RAW)).decode()


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("ecdh_public", "not base64!"),
        ("ecdh_public", OFF_CURVE),
        ("signing_public", base64.b64encode(b"\x04" + bytes(63)).decode()),  # too short
        ("signing_public", _GOOD.rstrip("=")),  # no padding
        ("ecdh_public", 42),
        ("name", "n" * 101),
        ("id", "not-a-uuid"),
        ("kind", "phone"),
    ],
)
def test_bad_device_fields_are_named(api, trio, field, value):
    mentor, _, _ = trio
    body = Device(user_id=mentor.pk).body(self_signed=True)
    body[field] = value
    response = api(mentor).post("/api/e2e/devices/", body, format="json")
    assert response.status_code == 400, response.json()
    error = response.json()["error"]
    assert error["code"] == "invalid"
    assert list(error["fields"]) == [field]
    assert not DeviceRow.objects.exists()


def test_a_bad_approval_signature_encoding_is_named(api, trio):
    mentor, _, _ = trio
    body = Device(user_id=mentor.pk).body(self_signed=True)
    body["approval"]["signature"] = base64.b64encode(bytes(70)).decode()
    response = api(mentor).post("/api/e2e/devices/", body, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {
        "approval": {"signature": ["Not base64 of 64 bytes."]}
    }


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("nonce", base64.b64encode(bytes(13)).decode()),
        ("wrapped", "=" * 64),
        ("ephemeral_public", OFF_CURVE),
        ("key_version", "1"),
        ("key_version", True),
        ("conversation_id", 5),
    ],
)
def test_bad_envelope_fields_are_named(api, register, encrypted_group, trio, field, value):
    mentor, _, _ = trio
    laptop = register(mentor)
    envelope = laptop.wrap(
        conversation_id=encrypted_group.pk,
        key_version=1,
        recipient_id=laptop.id,
        recipient_ecdh=laptop.ecdh_public,
        key=bytes(32),
    )
    envelope[field] = value
    response = api(mentor).post(
        f"/api/e2e/conversations/{encrypted_group.pk}/keys/",
        {"key_version": 1, "envelopes": [envelope]},
        format="json",
    )
    assert response.status_code == 400, response.json()
    error = response.json()["error"]
    assert error["code"] == "invalid"
    # The first envelope's field, by its index.
    assert error["message"].startswith("envelopes: ")
    assert list(error["fields"]["envelopes"]["0"]) == [field]


def test_envelope_query_needs_a_device(api, trio):
    mentor, _, _ = trio
    response = api(mentor).get("/api/e2e/envelopes/")
    assert response.status_code == 400
    assert list(response.json()["error"]["fields"]) == ["device_id"]
