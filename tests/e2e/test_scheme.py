"""The scheme of docs/e2e.md alone, without a server: the exact bytes of
every label, round trips, and every tampering a reader must refuse."""

import base64
import hashlib
import hmac
import json
import re
import uuid

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from tests.e2e import scheme
from tests.e2e.scheme import CannotDecrypt, DeviceKeys, EnvelopeRefused

USER = "0b6f3c1e-9d2a-4c5b-8e7f-1a2b3c4d5e6f"
OTHER = "f00dbabe-0000-4000-8000-000000000002"
CONVERSATION = "5a1d7c3e-2b4f-4e6a-9c8d-7e6f5a4b3c2d"
CLIENT_ID = "c11e0000-0000-4000-8000-00000000c11e"
DEVICE = "7c2e9a10-4b3d-4f5e-9a8b-0c1d2e3f4a5b"


# --- labels: the exact bytes the document gives -----------------------------------


def test_device_statement_bytes():
    # A UUID written in capitals is still written lowercase.
    statement = scheme.device_statement(USER, DEVICE.upper(), "BEC=", "BFG=")
    assert statement == (
        b"parley-e2e/v1 device\n"
        b"0b6f3c1e-9d2a-4c5b-8e7f-1a2b3c4d5e6f\n"
        b"7c2e9a10-4b3d-4f5e-9a8b-0c1d2e3f4a5b\n"
        b"BEC=\n"
        b"BFG="
    )


def test_envelope_info_and_signed_text_bytes():
    info = scheme.envelope_info(CONVERSATION, 2, DEVICE)
    assert info == (
        b"parley-e2e/v1 envelope\n"
        b"5a1d7c3e-2b4f-4e6a-9c8d-7e6f5a4b3c2d\n"
        b"2\n"
        b"7c2e9a10-4b3d-4f5e-9a8b-0c1d2e3f4a5b"
    )
    assert scheme.envelope_signed(info, "BEPH", "Tk9OQ0U=", "V1JBUA==") == info + (
        b"\nBEPH\nTk9OQ0U=\nV1JBUA=="
    )


def test_message_ad_and_franking_input_bytes():
    ad = scheme.message_ad(CONVERSATION, CLIENT_ID, 12)
    assert ad == (
        b"parley-e2e/v1 message\n"
        b"5a1d7c3e-2b4f-4e6a-9c8d-7e6f5a4b3c2d\n"
        b"c11e0000-0000-4000-8000-00000000c11e\n"
        b"12"
    )
    key = bytes(range(32))

    expected = hmac.new(key, ad + b"\nH\xc3\xa9llo", hashlib.sha256).digest()
    assert scheme.franking_tag(key, ad, "Héllo") == expected


def test_file_and_recovery_ad_bytes():
    assert scheme.file_ad(CONVERSATION) == (
        b"parley-e2e/v1 file\n5a1d7c3e-2b4f-4e6a-9c8d-7e6f5a4b3c2d"
    )
    assert scheme.recovery_ad(USER, DEVICE) == (
        b"parley-e2e/v1 recovery\n"
        b"0b6f3c1e-9d2a-4c5b-8e7f-1a2b3c4d5e6f\n"
        b"7c2e9a10-4b3d-4f5e-9a8b-0c1d2e3f4a5b"
    )


SAFETY_DEVICES = [
    {"id": "22222222-2222-4222-8222-222222222222", "ecdh_public": "BA==", "signing_public": "BB=="},
    {"id": "11111111-1111-4111-8111-111111111111", "ecdh_public": "BC==", "signing_public": "BD=="},
]


def test_safety_text_bytes_sorted_by_device():
    assert scheme.safety_text("aaaaaaaa-0000-4000-8000-000000000001", SAFETY_DEVICES) == (
        b"parley-e2e/v1 safety\n"
        b"aaaaaaaa-0000-4000-8000-000000000001\n"
        b"11111111-1111-4111-8111-111111111111 BC== BD==\n"
        b"22222222-2222-4222-8222-222222222222 BA== BB=="
    )


def test_approval_code_known_answer():
    statement = scheme.device_statement(USER, DEVICE, "BEC=", "BFG=")
    digest = hashlib.sha256(statement).digest()
    assert scheme.approval_code(statement) == f"{int.from_bytes(digest[:4], 'big') % 10**6:06d}"
    assert scheme.approval_code(statement) == "539959"


def test_safety_number_known_answer_and_symmetric():
    a, b = "aaaaaaaa-0000-4000-8000-000000000001", "bbbbbbbb-0000-4000-8000-000000000002"
    number = scheme.safety_number(b, SAFETY_DEVICES[:1], a, SAFETY_DEVICES)
    assert number == "805926662304105861879239897297311593106381708125649030054631"
    assert scheme.safety_number(a, SAFETY_DEVICES, b, SAFETY_DEVICES[:1]) == number
    # The smaller user id's fingerprint comes first: its six chunks.
    first = scheme.fingerprint(a, SAFETY_DEVICES)
    assert number[:5] == f"{int.from_bytes(first[:5], 'big') % 100_000:05d}"


# --- encodings -------------------------------------------------------------------


def test_signature_is_p1363_and_verifies_as_der():
    device = DeviceKeys(user_id=USER)
    signature = base64.b64decode(device.sign(b"hello"))
    assert len(signature) == 64
    assert scheme.verify(device.signing_public, b"hello", device.sign(b"hello"))
    assert not scheme.verify(device.signing_public, b"hellO", device.sign(b"hello"))
    # DER from the library converts to the same r || s.
    der = device.signing.sign(b"x", ec.ECDSA(hashes.SHA256()))
    r, s = decode_dss_signature(der)
    p1363 = scheme.b64(r.to_bytes(32, "big") + s.to_bytes(32, "big"))
    assert scheme.verify(device.signing_public, b"x", p1363)


def test_public_keys_are_65_byte_uncompressed_points():
    raw = base64.b64decode(DeviceKeys(user_id=USER).ecdh_public)
    assert len(raw) == 65 and raw[0] == 4


# --- devices ---------------------------------------------------------------------


def test_approval_code_six_digits_and_stable():
    device = DeviceKeys(user_id=USER)
    code = scheme.approval_code(device.statement())
    assert re.fullmatch(r"\d{6}", code)
    assert scheme.approval_code(device.statement()) == code
    # Another key gives (almost surely) another code: the code follows the keys.
    substituted = DeviceKeys(user_id=USER, id=device.id)
    assert scheme.approval_code(substituted.statement()) != code


def test_approval_signature_checks_against_the_approver():
    old, new = DeviceKeys(user_id=USER), DeviceKeys(user_id=USER)
    record = {**new.public(), "approval_signature": old.approve(new.public(), USER)}
    assert scheme.device_signature_valid(record, USER, old.signing_public)
    assert not scheme.device_signature_valid(record, USER, new.signing_public)
    assert not scheme.device_signature_valid(record, OTHER, old.signing_public)


# --- envelopes -------------------------------------------------------------------


def _envelope(key, signer, recipient, *, version=1):
    envelope = scheme.wrap(
        key,
        conversation_id=CONVERSATION,
        key_version=version,
        recipient=recipient.public(),
        signer=signer,
    )
    return {
        **envelope,
        "signer_user_id": signer.user_id,
        "signer_signing_public": signer.signing_public,
    }


def test_envelope_round_trip():
    key = bytes(range(32))
    alice, bob = DeviceKeys(user_id=USER), DeviceKeys(user_id=OTHER)
    envelope = _envelope(key, alice, bob)
    assert len(base64.b64decode(envelope["wrapped"])) == 48
    opened = scheme.unwrap(
        envelope, bob, conversation_id=CONVERSATION, key_version=1, member_user_ids=[USER, OTHER]
    )
    assert opened == key


def test_envelope_signed_by_a_non_member_is_refused():
    stranger, bob = DeviceKeys(user_id=str(uuid.uuid4())), DeviceKeys(user_id=OTHER)
    envelope = _envelope(bytes(32), stranger, bob)
    with pytest.raises(EnvelopeRefused, match="not a member"):
        scheme.unwrap(
            envelope,
            bob,
            conversation_id=CONVERSATION,
            key_version=1,
            member_user_ids=[USER, OTHER],
        )


def test_an_older_version_may_be_signed_by_someone_who_left():
    """Checked of the current version's signer only (``member_user_ids=None``)."""
    former, bob = DeviceKeys(user_id=str(uuid.uuid4())), DeviceKeys(user_id=OTHER)
    envelope = _envelope(bytes(32), former, bob)
    assert scheme.unwrap(
        envelope, bob, conversation_id=CONVERSATION, key_version=1, member_user_ids=None
    ) == bytes(32)


@pytest.mark.parametrize(
    "change",
    [
        {"signature": None},  # someone else's signature
        {"signer_signing_public": None},  # claims another signing key
        {"nonce": "AAAAAAAAAAAAAAAA"},
        {"key_version": 2},
        {"conversation_id": str(uuid.uuid4())},
    ],
)
def test_tampered_envelope_is_refused(change):
    alice, bob, mallory = (DeviceKeys(user_id=u) for u in (USER, OTHER, USER))
    envelope = _envelope(bytes(32), alice, bob)
    forged = _envelope(bytes(32), mallory, bob)
    for name, value in change.items():
        envelope[name] = value if value is not None else forged[name]
    with pytest.raises(EnvelopeRefused):
        scheme.unwrap(
            envelope,
            bob,
            conversation_id=CONVERSATION,
            key_version=1,
            member_user_ids=[USER, OTHER],
        )


def test_envelope_for_another_device_is_refused():
    alice, bob, carol = (DeviceKeys(user_id=u) for u in (USER, OTHER, OTHER))
    envelope = _envelope(bytes(32), alice, bob)
    with pytest.raises(EnvelopeRefused):
        scheme.unwrap(
            envelope,
            carol,
            conversation_id=CONVERSATION,
            key_version=1,
            member_user_ids=[USER, OTHER],
        )


# --- messages --------------------------------------------------------------------

KEYS = {1: bytes(range(32)), 2: bytes(range(1, 33))}


def _message(text="Meet at the library", version=2):
    return scheme.encrypt_message(
        KEYS[version],
        conversation_id=CONVERSATION,
        client_id=CLIENT_ID,
        key_version=version,
        device_id=DEVICE,
        text=text,
    )


def _decrypt(e2e, *, conversation_id=CONVERSATION, client_id=CLIENT_ID):
    return scheme.decrypt_message(
        KEYS, conversation_id=conversation_id, client_id=client_id, e2e=e2e
    )


def test_message_round_trip():
    e2e, payload = _message("Héllo ✓")
    assert set(e2e) == {"key_version", "device_id", "nonce", "ciphertext", "franking_tag"}
    assert len(base64.b64decode(e2e["nonce"])) == 12
    assert len(base64.b64decode(e2e["franking_tag"])) == 32
    assert _decrypt(e2e) == payload
    assert payload["text"] == "Héllo ✓" and payload["files"] == []
    # Fresh nonce and franking key every time.
    again, again_payload = _message("Héllo ✓")
    assert (
        again["nonce"] != e2e["nonce"] and again_payload["franking_key"] != payload["franking_key"]
    )


def _flip(b64_text):
    raw = bytearray(base64.b64decode(b64_text))
    raw[0] ^= 1
    return base64.b64encode(bytes(raw)).decode()


@pytest.mark.parametrize("field_", ["nonce", "ciphertext", "franking_tag"])
def test_tampered_message_field_cannot_decrypt(field_):
    e2e, _ = _message()
    with pytest.raises(CannotDecrypt):
        _decrypt({**e2e, field_: _flip(e2e[field_])})


def test_other_key_version_cannot_decrypt():
    e2e, _ = _message(version=2)
    with pytest.raises(CannotDecrypt):
        _decrypt({**e2e, "key_version": 1})
    with pytest.raises(CannotDecrypt):
        _decrypt({**e2e, "key_version": 3})  # no key at all


def test_other_associated_data_cannot_decrypt():
    e2e, _ = _message()
    with pytest.raises(CannotDecrypt):
        _decrypt(e2e, conversation_id=str(uuid.uuid4()))
    with pytest.raises(CannotDecrypt):
        _decrypt(e2e, client_id=str(uuid.uuid4()))


def test_franking_tag_over_another_text_cannot_decrypt():
    """A sender who commits to one text and shows another is caught."""
    e2e, payload = _message("what I show")
    ad = scheme.message_ad(CONVERSATION, CLIENT_ID, 2)
    other = scheme.franking_tag(base64.b64decode(payload["franking_key"]), ad, "what I commit to")
    with pytest.raises(CannotDecrypt, match="franking"):
        _decrypt({**e2e, "franking_tag": scheme.b64(other)})


def test_payload_that_is_not_the_object_cannot_decrypt():
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    ad = scheme.message_ad(CONVERSATION, CLIENT_ID, 2)
    nonce = bytes(12)
    for plain in (b"not json", json.dumps(["text"]).encode(), json.dumps({"text": 5}).encode()):
        e2e = {
            "key_version": 2,
            "device_id": DEVICE,
            "nonce": scheme.b64(nonce),
            "ciphertext": scheme.b64(AESGCM(KEYS[2]).encrypt(nonce, plain, ad)),
            "franking_tag": scheme.b64(bytes(32)),
        }
        with pytest.raises(CannotDecrypt):
            _decrypt(e2e)


# --- files -----------------------------------------------------------------------


def test_file_round_trip_and_tampering():
    data = b"%PDF-1.7 the report" * 100
    uploaded, entry = scheme.encrypt_file(data, conversation_id=CONVERSATION)
    assert data not in uploaded and len(uploaded) == len(data) + 16
    assert scheme.decrypt_file(uploaded, entry, conversation_id=CONVERSATION) == data
    with pytest.raises(CannotDecrypt, match="SHA-256"):
        scheme.decrypt_file(
            uploaded[:-1] + bytes([uploaded[-1] ^ 1]), entry, conversation_id=CONVERSATION
        )
    with pytest.raises(CannotDecrypt):
        scheme.decrypt_file(uploaded, entry, conversation_id=str(uuid.uuid4()))
    with pytest.raises(CannotDecrypt):
        scheme.decrypt_file(
            uploaded, {**entry, "nonce": _flip(entry["nonce"])}, conversation_id=CONVERSATION
        )


# --- recovery --------------------------------------------------------------------


def test_recovery_key_format():
    key = scheme.make_recovery_key()
    assert re.fullmatch(r"([A-Z2-7]{4}-){7}[A-Z2-7]{4}", key)
    assert len(base64.b32decode(key.replace("-", ""))) == 20
    assert scheme.recovery_password(key.lower()) == key.replace("-", "").encode()


def test_recovery_round_trip_and_wrong_key():
    device = DeviceKeys(user_id=USER, kind="recovery")
    key = scheme.make_recovery_key()
    backup = scheme.encrypt_recovery(device, key)
    assert backup["iterations"] == 600_000 and len(base64.b64decode(backup["salt"])) == 16
    recovered = scheme.decrypt_recovery(backup, key.lower(), user_id=USER)
    assert (recovered.id, recovered.ecdh_public, recovered.signing_public) == (
        device.id,
        device.ecdh_public,
        device.signing_public,
    )
    # The recovered keys sign as the device did.
    assert scheme.verify(device.signing_public, b"m", recovered.sign(b"m"))
    with pytest.raises(CannotDecrypt, match="wrong recovery key"):
        scheme.decrypt_recovery(backup, scheme.make_recovery_key(), user_id=USER)
    # Bound to the person and the device.
    with pytest.raises(CannotDecrypt):
        scheme.decrypt_recovery(backup, key, user_id=OTHER)


# --- safety numbers --------------------------------------------------------------


def test_safety_number_symmetric_60_digits_and_follows_devices():
    alice = [DeviceKeys(user_id=USER).public() for _ in range(2)]
    bob = [DeviceKeys(user_id=OTHER).public()]
    number = scheme.safety_number(USER, alice, OTHER, bob)
    assert re.fullmatch(r"\d{60}", number)
    assert scheme.safety_number(OTHER, bob, USER, list(reversed(alice))) == number
    assert scheme.safety_number(USER, alice[:1], OTHER, bob) != number
