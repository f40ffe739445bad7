"""The server's part of docs/e2e.md's cryptography: it checks, it never
decrypts. Public keys are P-256 points, signatures ECDSA P-256 SHA-256 in
WebCrypto's IEEE P1363 form (``r ‖ s``), every signed string one of the
labels below. The private halves never reach the server."""

import base64
import binascii
from uuid import UUID

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

# An uncompressed SEC1 point: 0x04, then x and y of 32 bytes each.
POINT_BYTES = 65
# r and s, 32 bytes each, big-endian.
SIGNATURE_BYTES = 64
NONCE_BYTES = 12
# The 32-byte conversation key and GCM's 16-byte tag.
WRAPPED_BYTES = 48

LABEL = "parley-e2e/v1"


def b64decode(text: str) -> bytes:
    """Standard base64 with padding, nothing else (no whitespace, no URL-safe
    alphabet, no bits beyond the data): ValueError otherwise, so that one
    value has one spelling and a signature covers exactly what is stored."""
    if not isinstance(text, str) or not text.isascii():
        raise ValueError("not base64")
    try:
        data = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("not base64") from None
    if base64.b64encode(data).decode("ascii") != text:
        raise ValueError("not canonical base64")
    return data


def b64_of_size(text: str, size: int) -> bytes:
    """``text``'s bytes when it is base64 of exactly ``size`` bytes."""
    data = b64decode(text)
    if len(data) != size:
        raise ValueError(f"not {size} bytes")
    return data


def public_key(text: str) -> ec.EllipticCurvePublicKey:
    """The P-256 public key whose uncompressed point ``text`` encodes;
    ValueError when it is not one (wrong length, compressed, off the curve,
    the point at infinity)."""
    data = b64_of_size(text, POINT_BYTES)
    if data[0] != 0x04:
        raise ValueError("not an uncompressed point")
    # Checks that the point lies on the curve.
    return ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), data)


def verify(signing_public: str, signature: str, signed: str) -> bool:
    """Whether ``signature`` (b64 of ``r ‖ s``) is the ECDSA P-256 SHA-256
    signature of ``signed`` (UTF-8) by ``signing_public``. False for any
    malformed part."""
    try:
        key = public_key(signing_public)
        raw = b64_of_size(signature, SIGNATURE_BYTES)
    except ValueError:
        return False
    r = int.from_bytes(raw[:32], "big")
    s = int.from_bytes(raw[32:], "big")
    try:
        key.verify(encode_dss_signature(r, s), signed.encode("utf-8"), ec.ECDSA(hashes.SHA256()))
    except (InvalidSignature, ValueError):
        return False
    return True


def _lines(*lines: object) -> str:
    return "\n".join(str(line) for line in lines)


def _uuid(value: UUID | str) -> str:
    """Lowercase with hyphens, whatever spelling came in."""
    return str(UUID(str(value)))


def device_statement(
    *, user_id: UUID | str, device_id: UUID | str, ecdh_public: str, signing_public: str
) -> str:
    """What a device's approver signs (docs/e2e.md, "Devices")."""
    return _lines(f"{LABEL} device", _uuid(user_id), _uuid(device_id), ecdh_public, signing_public)


def message_ad(*, conversation_id: UUID | str, client_id: UUID | str, key_version: object) -> str:
    """A message's associated data (docs/e2e.md, "Messages"): what its
    franking tag covers with its text."""
    return _lines(f"{LABEL} message", _uuid(conversation_id), _uuid(client_id), key_version)


def envelope_info(*, conversation_id: UUID | str, key_version: int, device_id: UUID | str) -> str:
    """An envelope's info ``EI``: HKDF info and GCM associated data of its
    wrap, and the head of what its signer signs."""
    return _lines(f"{LABEL} envelope", _uuid(conversation_id), int(key_version), _uuid(device_id))


def envelope_signed(
    *,
    conversation_id: UUID | str,
    key_version: int,
    device_id: UUID | str,
    ephemeral_public: str,
    nonce: str,
    wrapped: str,
) -> str:
    """What an envelope's signer signs (docs/e2e.md, step 6)."""
    return _lines(
        envelope_info(
            conversation_id=conversation_id, key_version=key_version, device_id=device_id
        ),
        ephemeral_public,
        nonce,
        wrapped,
    )
