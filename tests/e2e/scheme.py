"""The end-to-end encryption scheme of docs/e2e.md, written from that
document alone with the ``cryptography`` library: the suite's independent
implementation, so the document is the contract between the browser, the
server and this client. Nothing here talks to a server (``client.py``
does)."""

import base64
import binascii
import hashlib
import hmac as std_hmac
import json
import os
import secrets
import uuid
from dataclasses import dataclass, field

from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives import hmac as crypto_hmac
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.kdf.pbkdf2 import PBKDF2HMAC

VERSION = "parley-e2e/v1"
CURVE = ec.SECP256R1()
KEY_BYTES = 32
NONCE_BYTES = 12
RECOVERY_ITERATIONS = 600_000
MAX_TEXT = 10_000


class SchemeError(Exception):
    """Something the document says a client must refuse."""


class CannotDecrypt(SchemeError):
    """A message or file shown as "cannot decrypt", never as text."""


class EnvelopeRefused(SchemeError):
    """An envelope whose key the client must not use."""


# --- encodings ---------------------------------------------------------------


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def unb64(text: str) -> bytes:
    """Standard base64 with padding, strictly (anything else is refused)."""
    try:
        return base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError, AttributeError) as error:
        raise SchemeError(f"not base64: {text!r}") from error


def lines(*parts: object) -> bytes:
    """A label: UTF-8, lines joined by one \\n, no trailing newline; UUIDs
    lowercase with hyphens, integers in decimal."""
    return "\n".join(_canonical(part) for part in parts).encode("utf-8")


def _canonical(part: object) -> str:
    if isinstance(part, uuid.UUID):
        return str(part)
    if isinstance(part, bool):
        raise TypeError("no booleans in labels")
    if isinstance(part, int):
        return str(part)
    text = str(part)
    try:
        return str(uuid.UUID(text)) if len(text) == 36 else text
    except ValueError:
        return text


def public_b64(key: ec.EllipticCurvePublicKey) -> str:
    return b64(
        key.public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    )


def load_public(text: str) -> ec.EllipticCurvePublicKey:
    raw = unb64(text)
    if len(raw) != 65 or raw[0] != 4:
        raise SchemeError("a public key is a 65-byte uncompressed point")
    return ec.EllipticCurvePublicKey.from_encoded_point(CURVE, raw)


def sign(private: ec.EllipticCurvePrivateKey, message: bytes) -> str:
    """ECDSA P-256 SHA-256, as IEEE P1363 r || s (WebCrypto's form), b64."""
    r, s = decode_dss_signature(private.sign(message, ec.ECDSA(hashes.SHA256())))
    return b64(r.to_bytes(32, "big") + s.to_bytes(32, "big"))


def verify(public: str, message: bytes, signature: str) -> bool:
    try:
        raw = unb64(signature)
        key = load_public(public)
    except (SchemeError, ValueError):
        return False
    if len(raw) != 64:
        return False
    der = encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))
    try:
        key.verify(der, message, ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        return False
    return True


# --- the labels ----------------------------------------------------------------


def device_statement(user_id, device_id, ecdh_public: str, signing_public: str) -> bytes:
    return lines(f"{VERSION} device", user_id, device_id, ecdh_public, signing_public)


def envelope_info(conversation_id, key_version: int, device_id) -> bytes:
    return lines(f"{VERSION} envelope", conversation_id, key_version, device_id)


def envelope_signed(info: bytes, ephemeral_public: str, nonce: str, wrapped: str) -> bytes:
    return info + b"\n" + lines(ephemeral_public, nonce, wrapped)


def message_ad(conversation_id, client_id, key_version: int) -> bytes:
    return lines(f"{VERSION} message", conversation_id, client_id, key_version)


def file_ad(conversation_id) -> bytes:
    return lines(f"{VERSION} file", conversation_id)


def recovery_ad(user_id, device_id) -> bytes:
    return lines(f"{VERSION} recovery", user_id, device_id)


def safety_text(user_id, devices: list[dict]) -> bytes:
    rows = sorted((_canonical(d["id"]), d["ecdh_public"], d["signing_public"]) for d in devices)
    return lines(f"{VERSION} safety", user_id, *(" ".join(row) for row in rows))


# --- devices -------------------------------------------------------------------


@dataclass
class DeviceKeys:
    """One device: its id, its person and its two P-256 key pairs."""

    user_id: str
    id: str = field(default_factory=lambda: str(uuid.uuid4()))
    kind: str = "browser"
    ecdh: ec.EllipticCurvePrivateKey = field(default_factory=lambda: ec.generate_private_key(CURVE))
    signing: ec.EllipticCurvePrivateKey = field(
        default_factory=lambda: ec.generate_private_key(CURVE)
    )

    @property
    def ecdh_public(self) -> str:
        return public_b64(self.ecdh.public_key())

    @property
    def signing_public(self) -> str:
        return public_b64(self.signing.public_key())

    def statement(self) -> bytes:
        return device_statement(self.user_id, self.id, self.ecdh_public, self.signing_public)

    def sign(self, message: bytes) -> str:
        return sign(self.signing, message)

    def public(self) -> dict:
        return {
            "id": self.id,
            "ecdh_public": self.ecdh_public,
            "signing_public": self.signing_public,
        }

    def approve(self, device: dict, user_id) -> str:
        """This device's signature over another device's statement."""
        return self.sign(
            device_statement(user_id, device["id"], device["ecdh_public"], device["signing_public"])
        )

    def approval_of(self, device: "DeviceKeys") -> dict:
        """The ``approval`` object by which this device approves ``device``
        (itself, for a first device)."""
        return {"signer_device_id": self.id, "signature": self.sign(device.statement())}

    def registration(self, name: str, *, approver: "DeviceKeys | None") -> dict:
        """The body of ``POST /api/e2e/devices/``: approved by ``approver``
        (this device itself for a first device), or pending without one."""
        body: dict[str, object] = {"name": name, "kind": self.kind, **self.public()}
        if approver is not None:
            body["approval"] = approver.approval_of(self)
        return body

    def private_json(self) -> bytes:
        def pkcs8(key):
            return b64(
                key.private_bytes(
                    serialization.Encoding.DER,
                    serialization.PrivateFormat.PKCS8,
                    serialization.NoEncryption(),
                )
            )

        return json.dumps(
            {"ecdh_private": pkcs8(self.ecdh), "signing_private": pkcs8(self.signing)}
        ).encode("utf-8")


def approval_code(statement: bytes) -> str:
    """The first 4 bytes of SHA-256(statement), big-endian, mod 1,000,000, six digits."""
    number = int.from_bytes(hashlib.sha256(statement).digest()[:4], "big") % 1_000_000
    return f"{number:06d}"


def device_signature_valid(device: dict, user_id, signer_signing_public: str) -> bool:
    """A device record's ``approval_signature`` by the device that approved it."""
    statement = device_statement(
        user_id, device["id"], device["ecdh_public"], device["signing_public"]
    )
    return verify(signer_signing_public, statement, device.get("approval_signature") or "")


# --- envelopes -----------------------------------------------------------------


def new_key() -> bytes:
    """A fresh conversation key."""
    return os.urandom(KEY_BYTES)


def _kek(shared: bytes, info: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=bytes(32), info=info).derive(shared)


def wrap(
    conversation_key: bytes,
    *,
    conversation_id,
    key_version: int,
    recipient: dict,
    signer: DeviceKeys,
) -> dict:
    """An envelope of ``conversation_key`` for ``recipient`` (a device record
    with ``id`` and ``ecdh_public``), signed by ``signer``."""
    ephemeral = ec.generate_private_key(CURVE)
    shared = ephemeral.exchange(ec.ECDH(), load_public(recipient["ecdh_public"]))
    info = envelope_info(conversation_id, key_version, recipient["id"])
    nonce = os.urandom(NONCE_BYTES)
    wrapped = AESGCM(_kek(shared, info)).encrypt(nonce, conversation_key, info)
    fields = {
        "ephemeral_public": public_b64(ephemeral.public_key()),
        "nonce": b64(nonce),
        "wrapped": b64(wrapped),
    }
    return {
        "conversation_id": str(conversation_id),
        "key_version": key_version,
        "device_id": str(recipient["id"]),
        "signer_device_id": signer.id,
        **fields,
        "signature": signer.sign(envelope_signed(info, **fields)),
    }


def member_devices(state: dict) -> list[dict]:
    """Every active device of every member in a conversation's key state
    (``GET /api/e2e/conversations/<id>/``)."""
    return [device for member in state["members"] for device in member["devices"]]


def wrap_for(
    conversation_key: bytes,
    devices: list[dict],
    *,
    conversation_id,
    key_version: int,
    signer: DeviceKeys,
) -> list[dict]:
    """An envelope of ``conversation_key`` for each of ``devices``."""
    return [
        wrap(
            conversation_key,
            conversation_id=conversation_id,
            key_version=key_version,
            recipient=device,
            signer=signer,
        )
        for device in devices
    ]


def unwrap(
    envelope: dict,
    device: DeviceKeys,
    *,
    conversation_id,
    key_version: int,
    member_user_ids: list | None,
    signer_signing_public: str | None = None,
) -> bytes:
    """The conversation key in ``envelope``, after the checks the document
    asks for; ``EnvelopeRefused`` otherwise. ``member_user_ids``: the
    current members, for the current version; ``None`` for an older one,
    whose signer may have left since."""
    asked = (_canonical(conversation_id), key_version, device.id)
    got = (
        _canonical(envelope["conversation_id"]),
        envelope["key_version"],
        _canonical(envelope["device_id"]),
    )
    if got != asked:
        raise EnvelopeRefused(f"envelope for {got}, asked for {asked}")
    signer_user = envelope.get("signer_user_id")
    if member_user_ids is not None:
        members = {_canonical(u) for u in member_user_ids} | {_canonical(device.user_id)}
        if signer_user is None or _canonical(signer_user) not in members:
            raise EnvelopeRefused("signed by someone who is not a member")
    public = signer_signing_public or envelope.get("signer_signing_public") or ""
    info = envelope_info(conversation_id, key_version, device.id)
    signed = envelope_signed(
        info, envelope["ephemeral_public"], envelope["nonce"], envelope["wrapped"]
    )
    if not verify(public, signed, envelope["signature"]):
        raise EnvelopeRefused("bad envelope signature")
    try:
        shared = device.ecdh.exchange(ec.ECDH(), load_public(envelope["ephemeral_public"]))
        key = AESGCM(_kek(shared, info)).decrypt(
            unb64(envelope["nonce"]), unb64(envelope["wrapped"]), info
        )
    except (InvalidTag, ValueError, SchemeError) as error:
        raise EnvelopeRefused("envelope does not open") from error
    if len(key) != KEY_BYTES:
        raise EnvelopeRefused("not a 32-byte key")
    return key


# --- messages ------------------------------------------------------------------


def franking_tag(franking_key: bytes, ad: bytes, text: str) -> bytes:
    mac = crypto_hmac.HMAC(franking_key, hashes.SHA256())
    mac.update(ad + b"\n" + text.encode("utf-8"))
    return mac.finalize()


def encrypt_message(
    conversation_key: bytes,
    *,
    conversation_id,
    client_id,
    key_version: int,
    device_id,
    text: str,
    files: list | None = None,
) -> tuple[dict, dict]:
    """The send's ``e2e`` object and the payload it carries."""
    franking_key = os.urandom(32)
    payload = {"text": text, "files": list(files or []), "franking_key": b64(franking_key)}
    ad = message_ad(conversation_id, client_id, key_version)
    nonce = os.urandom(NONCE_BYTES)
    ciphertext = AESGCM(conversation_key).encrypt(nonce, json.dumps(payload).encode("utf-8"), ad)
    e2e = {
        "key_version": key_version,
        "device_id": str(device_id),
        "nonce": b64(nonce),
        "ciphertext": b64(ciphertext),
        "franking_tag": b64(franking_tag(franking_key, ad, text)),
    }
    return e2e, payload


def decrypt_message(keys: dict[int, bytes], *, conversation_id, client_id, e2e: dict) -> dict:
    """The payload of a stored message's ``e2e``; ``CannotDecrypt`` on any failure."""
    try:
        version = e2e["key_version"]
        key = keys[version]
        ad = message_ad(conversation_id, client_id, version)
        plain = AESGCM(key).decrypt(unb64(e2e["nonce"]), unb64(e2e["ciphertext"]), ad)
        payload = json.loads(plain.decode("utf-8"))
        text = payload["text"]
        franking_key = unb64(payload["franking_key"])
        files = payload.get("files", [])
        if not isinstance(text, str) or len(text) > MAX_TEXT or not isinstance(files, list):
            raise CannotDecrypt("not a payload")
        expected = franking_tag(franking_key, ad, text)
        if not std_hmac.compare_digest(expected, unb64(e2e["franking_tag"])):
            raise CannotDecrypt("franking tag does not match")
    except CannotDecrypt:
        raise
    except (KeyError, TypeError, ValueError, InvalidTag, SchemeError, UnicodeDecodeError) as error:
        raise CannotDecrypt(str(error) or type(error).__name__) from error
    return payload


# --- files ---------------------------------------------------------------------


def encrypt_file(data: bytes, *, conversation_id) -> tuple[bytes, dict]:
    """The bytes to upload, and the payload's file entry without
    ``attachment_id``, ``name``, ``type`` and ``size``."""
    key, nonce = os.urandom(KEY_BYTES), os.urandom(NONCE_BYTES)
    uploaded = AESGCM(key).encrypt(nonce, data, file_ad(conversation_id))
    return uploaded, {
        "key": b64(key),
        "nonce": b64(nonce),
        "sha256": b64(hashlib.sha256(uploaded).digest()),
    }


def decrypt_file(uploaded: bytes, entry: dict, *, conversation_id) -> bytes:
    if not std_hmac.compare_digest(hashlib.sha256(uploaded).digest(), unb64(entry["sha256"])):
        raise CannotDecrypt("the file's SHA-256 does not match")
    try:
        return AESGCM(unb64(entry["key"])).decrypt(
            unb64(entry["nonce"]), uploaded, file_ad(conversation_id)
        )
    except InvalidTag as error:
        raise CannotDecrypt("the file does not open") from error


# --- recovery ------------------------------------------------------------------

BASE32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"


def make_recovery_key() -> str:
    """20 random bytes as 32 base32 characters, 8 groups of 4 joined by '-'."""
    text = base64.b32encode(secrets.token_bytes(20)).decode("ascii")
    assert len(text) == 32 and "=" not in text
    return "-".join(text[i : i + 4] for i in range(0, 32, 4))


def recovery_password(recovery_key: str) -> bytes:
    return recovery_key.replace("-", "").upper().encode("utf-8")


def recovery_kek(recovery_key: str, salt: bytes, iterations: int) -> bytes:
    return PBKDF2HMAC(
        algorithm=hashes.SHA256(), length=32, salt=salt, iterations=iterations
    ).derive(recovery_password(recovery_key))


def encrypt_recovery(
    device: DeviceKeys, recovery_key: str, iterations: int = RECOVERY_ITERATIONS
) -> dict:
    """The body of ``PUT /api/e2e/recovery/`` for recovery device ``device``."""
    salt, nonce = os.urandom(16), os.urandom(NONCE_BYTES)
    kek = recovery_kek(recovery_key, salt, iterations)
    ciphertext = AESGCM(kek).encrypt(
        nonce, device.private_json(), recovery_ad(device.user_id, device.id)
    )
    return {
        "device_id": device.id,
        "salt": b64(salt),
        "iterations": iterations,
        "nonce": b64(nonce),
        "ciphertext": b64(ciphertext),
    }


def open_recovery(backup: dict, recovery_key: str, *, user_id) -> dict:
    """The backup's plaintext: the recovery device's private keys as the
    document's JSON object; ``CannotDecrypt`` with a wrong key."""
    kek = recovery_kek(recovery_key, unb64(backup["salt"]), backup["iterations"])
    try:
        plain = AESGCM(kek).decrypt(
            unb64(backup["nonce"]),
            unb64(backup["ciphertext"]),
            recovery_ad(user_id, backup["device_id"]),
        )
    except InvalidTag as error:
        raise CannotDecrypt("wrong recovery key") from error
    return json.loads(plain)


def decrypt_recovery(backup: dict, recovery_key: str, *, user_id) -> DeviceKeys:
    """The recovery device's keys; ``CannotDecrypt`` with a wrong key."""
    keys = open_recovery(backup, recovery_key, user_id=user_id)

    def load(name):
        return serialization.load_der_private_key(unb64(keys[name]), password=None)

    return DeviceKeys(
        user_id=str(user_id),
        id=_canonical(backup["device_id"]),
        kind="recovery",
        ecdh=load("ecdh_private"),
        signing=load("signing_private"),
    )


# --- safety numbers ------------------------------------------------------------


def fingerprint(user_id, devices: list[dict]) -> bytes:
    """SHA-256 of a person's safety text (their active devices)."""
    return hashlib.sha256(safety_text(user_id, devices)).digest()


def safety_number(a_user_id, a_devices: list[dict], b_user_id, b_devices: list[dict]) -> str:
    """60 digits; the same whichever side computes it."""
    people = sorted([(_canonical(a_user_id), a_devices), (_canonical(b_user_id), b_devices)])
    digits = []
    for user_id, devices in people:
        print_ = fingerprint(user_id, devices)
        for i in range(6):
            chunk = int.from_bytes(print_[i * 5 : i * 5 + 5], "big") % 100_000
            digits.append(f"{chunk:05d}")
    return "".join(digits)
