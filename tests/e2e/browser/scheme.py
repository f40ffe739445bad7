"""docs/e2e.md's scheme in Python (the ``cryptography`` library), written
from the document alone: the browser tests check that what the browser makes
opens here and what is made here opens in the browser."""

import base64
import hashlib
import hmac
import json
import os

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.kdf.pbkdf2 import PBKDF2HMAC


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def unb64(text: str) -> bytes:
    return base64.b64decode(text, validate=True)


def label(*lines) -> bytes:
    return "\n".join(str(line) for line in lines).encode()


def public_b64(private_key) -> str:
    return b64(
        private_key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
    )


def load_public(text: str):
    return ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), unb64(text))


def sign(private_key, data: bytes) -> str:
    r, s = decode_dss_signature(private_key.sign(data, ec.ECDSA(hashes.SHA256())))
    return b64(r.to_bytes(32, "big") + s.to_bytes(32, "big"))


def verify(public_text: str, signature: str, data: bytes) -> None:
    raw = unb64(signature)
    der = encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))
    load_public(public_text).verify(der, data, ec.ECDSA(hashes.SHA256()))


def approval_code(statement: bytes) -> str:
    digits = f"{int.from_bytes(hashlib.sha256(statement).digest()[:4], 'big') % 1_000_000:06d}"
    return f"{digits[:3]} {digits[3:]}"


def device_statement(user_id, device_id, ecdh_public, signing_public) -> bytes:
    return label("parley-e2e/v1 device", user_id, device_id, ecdh_public, signing_public)


def _kek(shared: bytes, info: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=bytes(32), info=info).derive(shared)


def wrap(
    conversation_id,
    key_version,
    key: bytes,
    recipient_id,
    recipient_ecdh_public,
    signer_id,
    signer_key,
):
    ephemeral = ec.generate_private_key(ec.SECP256R1())
    shared = ephemeral.exchange(ec.ECDH(), load_public(recipient_ecdh_public))
    info = label("parley-e2e/v1 envelope", conversation_id, key_version, recipient_id)
    nonce = os.urandom(12)
    wrapped = AESGCM(_kek(shared, info)).encrypt(nonce, key, info)
    envelope = {
        "conversation_id": conversation_id,
        "key_version": key_version,
        "device_id": recipient_id,
        "signer_device_id": signer_id,
        "ephemeral_public": public_b64(ephemeral),
        "nonce": b64(nonce),
        "wrapped": b64(wrapped),
    }
    signed = (
        info
        + f"\n{envelope['ephemeral_public']}\n{envelope['nonce']}\n{envelope['wrapped']}".encode()
    )
    envelope["signature"] = sign(signer_key, signed)
    return envelope


def unwrap(envelope, recipient_key, signer_signing_public) -> bytes:
    info = label(
        "parley-e2e/v1 envelope",
        envelope["conversation_id"],
        envelope["key_version"],
        envelope["device_id"],
    )
    signed = (
        info
        + f"\n{envelope['ephemeral_public']}\n{envelope['nonce']}\n{envelope['wrapped']}".encode()
    )
    verify(signer_signing_public, envelope["signature"], signed)
    shared = recipient_key.exchange(ec.ECDH(), load_public(envelope["ephemeral_public"]))
    return AESGCM(_kek(shared, info)).decrypt(
        unb64(envelope["nonce"]), unb64(envelope["wrapped"]), info
    )


def message_ad(conversation_id, client_id, key_version) -> bytes:
    return label("parley-e2e/v1 message", conversation_id, client_id, key_version)


def franking_tag(franking_key: bytes, ad: bytes, text: str) -> bytes:
    return hmac.new(franking_key, ad + b"\n" + text.encode(), hashlib.sha256).digest()


def encrypt_message(key: bytes, conversation_id, client_id, key_version, device_id, text, files=()):
    franking_key = os.urandom(32)
    payload = {"text": text, "files": list(files), "franking_key": b64(franking_key)}
    ad = message_ad(conversation_id, client_id, key_version)
    nonce = os.urandom(12)
    return {
        "key_version": key_version,
        "device_id": device_id,
        "nonce": b64(nonce),
        "ciphertext": b64(AESGCM(key).encrypt(nonce, json.dumps(payload).encode(), ad)),
        "franking_tag": b64(franking_tag(franking_key, ad, text)),
    }


def decrypt_message(key: bytes, conversation_id, client_id, e2e) -> dict:
    ad = message_ad(conversation_id, client_id, e2e["key_version"])
    payload = json.loads(AESGCM(key).decrypt(unb64(e2e["nonce"]), unb64(e2e["ciphertext"]), ad))
    tag = franking_tag(unb64(payload["franking_key"]), ad, payload["text"])
    assert hmac.compare_digest(tag, unb64(e2e["franking_tag"])), "franking tag"
    return payload


def decrypt_file(ciphertext: bytes, entry, conversation_id) -> bytes:
    assert hashlib.sha256(ciphertext).digest() == unb64(entry["sha256"])
    ad = label("parley-e2e/v1 file", conversation_id)
    return AESGCM(unb64(entry["key"])).decrypt(unb64(entry["nonce"]), ciphertext, ad)


def fingerprint(user_id, devices) -> bytes:
    lines = ["parley-e2e/v1 safety", user_id]
    for device in sorted(devices, key=lambda d: d["id"]):
        lines.append(f"{device['id']} {device['ecdh_public']} {device['signing_public']}")
    return hashlib.sha256(label(*lines)).digest()


def safety_number(user_a, print_a: bytes, user_b, print_b: bytes) -> str:
    pairs = sorted([(user_a, print_a), (user_b, print_b)])
    return "".join(
        f"{int.from_bytes(p[i * 5 : i * 5 + 5], 'big') % 100_000:05d}"
        for _, p in pairs
        for i in range(6)
    )


def open_recovery(recovery_key: str, user_id, backup) -> dict:
    password = recovery_key.replace("-", "").upper().encode()
    key = PBKDF2HMAC(
        algorithm=hashes.SHA256(),
        length=32,
        salt=unb64(backup["salt"]),
        iterations=backup["iterations"],
    ).derive(password)
    ad = label("parley-e2e/v1 recovery", user_id, backup["device_id"])
    return json.loads(AESGCM(key).decrypt(unb64(backup["nonce"]), unb64(backup["ciphertext"]), ad))
