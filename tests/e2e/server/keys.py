"""Devices, signatures and envelopes made as docs/e2e.md says, with the
``cryptography`` library: what a browser would post, for the server's tests."""

import base64
import os
import uuid
from dataclasses import dataclass, field

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def point(key: ec.EllipticCurvePublicKey) -> str:
    return b64(
        key.public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    )


def sign(private: ec.EllipticCurvePrivateKey, text: str) -> str:
    """ECDSA P-256 SHA-256 as WebCrypto writes it: r ‖ s, 32 bytes each."""
    r, s = decode_dss_signature(private.sign(text.encode("utf-8"), ec.ECDSA(hashes.SHA256())))
    return b64(r.to_bytes(32, "big") + s.to_bytes(32, "big"))


def device_statement(user_id, device_id, ecdh_public: str, signing_public: str) -> str:
    return "\n".join(
        ["parley-e2e/v1 device", str(user_id), str(device_id), ecdh_public, signing_public]
    )


def envelope_info(conversation_id, key_version: int, device_id) -> str:
    return "\n".join(
        ["parley-e2e/v1 envelope", str(conversation_id), str(key_version), str(device_id)]
    )


def _kek(shared: bytes, info: str) -> bytes:
    return HKDF(
        algorithm=hashes.SHA256(), length=32, salt=b"\x00" * 32, info=info.encode("utf-8")
    ).derive(shared)


@dataclass
class Device:
    """One browser: its two key pairs, private halves kept here."""

    user_id: uuid.UUID
    kind: str = "browser"
    name: str = "Test browser"
    id: uuid.UUID = field(default_factory=uuid.uuid4)
    ecdh: ec.EllipticCurvePrivateKey = field(
        default_factory=lambda: ec.generate_private_key(ec.SECP256R1())
    )
    signing: ec.EllipticCurvePrivateKey = field(
        default_factory=lambda: ec.generate_private_key(ec.SECP256R1())
    )

    @property
    def ecdh_public(self) -> str:
        return point(self.ecdh.public_key())

    @property
    def signing_public(self) -> str:
        return point(self.signing.public_key())

    def statement(self) -> str:
        return device_statement(self.user_id, self.id, self.ecdh_public, self.signing_public)

    def sign(self, text: str) -> str:
        return sign(self.signing, text)

    def body(self, *, approver: "Device | None" = None, self_signed: bool = False) -> dict:
        """The registration body: self-signed (a first device), approved
        by ``approver``, or neither (pending)."""
        body = {
            "id": str(self.id),
            "name": self.name,
            "kind": self.kind,
            "ecdh_public": self.ecdh_public,
            "signing_public": self.signing_public,
        }
        signer = self if self_signed else approver
        if signer is not None:
            body["approval"] = {
                "signer_device_id": str(signer.id),
                "signature": signer.sign(self.statement()),
            }
        return body

    def approval_of(self, other: "Device") -> dict:
        return {"signer_device_id": str(self.id), "signature": self.sign(other.statement())}

    def wrap(
        self, *, conversation_id, key_version: int, recipient_id, recipient_ecdh: str, key: bytes
    ) -> dict:
        """An envelope of ``key`` for the recipient device, signed by this one."""
        info = envelope_info(conversation_id, key_version, recipient_id)
        ephemeral = ec.generate_private_key(ec.SECP256R1())
        recipient = ec.EllipticCurvePublicKey.from_encoded_point(
            ec.SECP256R1(), base64.b64decode(recipient_ecdh)
        )
        shared = ephemeral.exchange(ec.ECDH(), recipient)
        nonce = os.urandom(12)
        wrapped = AESGCM(_kek(shared, info)).encrypt(nonce, key, info.encode("utf-8"))
        envelope = {
            "conversation_id": str(conversation_id),
            "key_version": key_version,
            "device_id": str(recipient_id),
            "signer_device_id": str(self.id),
            "ephemeral_public": point(ephemeral.public_key()),
            "nonce": b64(nonce),
            "wrapped": b64(wrapped),
        }
        envelope["signature"] = self.sign(
            "\n".join([info, envelope["ephemeral_public"], envelope["nonce"], envelope["wrapped"]])
        )
        return envelope

    def wrap_for(self, devices: list[dict], *, conversation_id, key_version: int, key: bytes):
        """Envelopes for each of ``devices`` (as the API lists them)."""
        return [
            self.wrap(
                conversation_id=conversation_id,
                key_version=key_version,
                recipient_id=device["id"],
                recipient_ecdh=device["ecdh_public"],
                key=key,
            )
            for device in devices
        ]

    def unwrap(self, envelope: dict) -> bytes:
        """The key inside an envelope addressed to this device."""
        info = envelope_info(envelope["conversation_id"], envelope["key_version"], self.id)
        ephemeral = ec.EllipticCurvePublicKey.from_encoded_point(
            ec.SECP256R1(), base64.b64decode(envelope["ephemeral_public"])
        )
        shared = self.ecdh.exchange(ec.ECDH(), ephemeral)
        return AESGCM(_kek(shared, info)).decrypt(
            base64.b64decode(envelope["nonce"]),
            base64.b64decode(envelope["wrapped"]),
            info.encode("utf-8"),
        )


def new_key() -> bytes:
    return os.urandom(32)
