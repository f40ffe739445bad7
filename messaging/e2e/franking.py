"""Message franking (docs/e2e.md, "Message franking"): a report of an
encrypted message carries its plaintext ``text`` and ``franking_key``; the
server recomputes the HMAC over the stored message's associated data and
that text, and compares it with the ``franking_tag`` stored at send time.
A reporter cannot put words in a sender's mouth, and a message nobody
reports stays unreadable to the server."""

import base64
import binascii
import hashlib
import hmac
from dataclasses import dataclass

from django.utils.translation import gettext as _

from messaging.e2e import crypto
from messaging.e2e import messages as e2e_messages
from messaging.e2e.errors import FrankingMismatch
from messaging.errors import InvalidInput

# As a message's text (docs/e2e.md, "Messages").
MAX_TEXT_CHARS = 10_000
FRANKING_KEY_BYTES = 32


@dataclass(frozen=True)
class Disclosure:
    """What a reporter discloses of an encrypted message."""

    text: str
    franking_key: bytes


def clean_disclosure(value: object) -> Disclosure:
    """A report's ``e2e``: ``{"text", "franking_key"}``, the text at most
    10,000 characters, the key 32 bytes of standard base64."""
    if not isinstance(value, dict) or set(value) != {"text", "franking_key"}:
        raise InvalidInput(
            _("Reporting an encrypted message needs e2e with its text and franking_key.")
        )
    text, key = value["text"], value["franking_key"]
    if not isinstance(text, str) or len(text) > MAX_TEXT_CHARS:
        raise InvalidInput(
            _("e2e.text must be text of at most %(count)s characters.") % {"count": MAX_TEXT_CHARS}
        )
    try:
        raw_key = base64.b64decode(key, validate=True) if isinstance(key, str) else b""
    except (binascii.Error, ValueError):
        raw_key = b""
    if len(raw_key) != FRANKING_KEY_BYTES:
        raise InvalidInput(
            _("e2e.franking_key must be %(count)s bytes of base64.") % {"count": FRANKING_KEY_BYTES}
        )
    return Disclosure(text=text, franking_key=raw_key)


def associated_data(message) -> bytes:
    """The message's ``AD``, from what the server stored: its conversation,
    its client_id and the key version of its ``e2e`` object."""
    e2e = (message.metadata or {}).get(e2e_messages.METADATA_KEY) or {}
    return crypto.message_ad(
        conversation_id=message.conversation_id,
        client_id=message.client_id,
        key_version=e2e.get("key_version"),
    ).encode("utf-8")


def verify(message, disclosure: Disclosure) -> str:
    """The disclosed text, once HMAC-SHA-256(franking_key, AD ‖ "\\n" ‖ text)
    equals the stored ``franking_tag`` (compared in constant time);
    ``FrankingMismatch`` otherwise, or when the message keeps no tag."""
    e2e = (message.metadata or {}).get(e2e_messages.METADATA_KEY) or {}
    try:
        stored_tag = base64.b64decode(e2e.get("franking_tag") or "", validate=True)
    except (binascii.Error, ValueError):
        stored_tag = b""
    computed = hmac.new(
        disclosure.franking_key,
        associated_data(message) + b"\n" + disclosure.text.encode("utf-8"),
        hashlib.sha256,
    ).digest()
    if not stored_tag or not hmac.compare_digest(computed, stored_tag):
        raise FrankingMismatch(
            _("The text and key do not match what was sent; the report was not made.")
        )
    return disclosure.text
