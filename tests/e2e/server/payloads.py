"""A message encrypted as docs/e2e.md ("Messages") says, with the
``cryptography`` library: what a member's browser sends as ``e2e``."""

import base64
import hashlib
import hmac
import json
import os
from dataclasses import dataclass
from uuid import UUID

from cryptography.hazmat.primitives.ciphers.aead import AESGCM


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def message_ad(conversation_id: UUID | str, client_id: UUID | str, key_version: int) -> bytes:
    return "\n".join(
        [
            "parley-e2e/v1 message",
            str(conversation_id).lower(),
            str(client_id).lower(),
            str(key_version),
        ]
    ).encode("utf-8")


@dataclass(frozen=True)
class Sealed:
    e2e: dict
    text: str
    franking_key: bytes


def seal(
    *,
    key: bytes,
    conversation_id: UUID | str,
    client_id: UUID | str,
    key_version: int,
    device_id: UUID | str,
    text: str,
    files: list | None = None,
) -> Sealed:
    """Encrypt ``text`` under the conversation key ``key`` of ``key_version``."""
    franking_key = os.urandom(32)
    payload = {"text": text, "files": files or [], "franking_key": b64(franking_key)}
    ad = message_ad(conversation_id, client_id, key_version)
    nonce = os.urandom(12)
    ciphertext = AESGCM(key).encrypt(nonce, json.dumps(payload).encode("utf-8"), ad)
    tag = hmac.new(franking_key, ad + b"\n" + text.encode("utf-8"), hashlib.sha256).digest()
    e2e = {
        "key_version": key_version,
        "device_id": str(device_id),
        "nonce": b64(nonce),
        "ciphertext": b64(ciphertext),
        "franking_tag": b64(tag),
    }
    return Sealed(e2e=e2e, text=text, franking_key=franking_key)


def open_sealed(*, key: bytes, conversation_id, client_id, e2e: dict) -> dict:
    """Decrypt a stored message's ``e2e`` as a reader does, tag checked."""
    ad = message_ad(conversation_id, client_id, e2e["key_version"])
    plain = AESGCM(key).decrypt(
        base64.b64decode(e2e["nonce"]), base64.b64decode(e2e["ciphertext"]), ad
    )
    payload = json.loads(plain)
    franking_key = base64.b64decode(payload["franking_key"])
    tag = hmac.new(franking_key, ad + b"\n" + payload["text"].encode(), hashlib.sha256).digest()
    assert hmac.compare_digest(tag, base64.b64decode(e2e["franking_tag"]))
    return payload
