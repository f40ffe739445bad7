"""Encrypted messages (docs/e2e.md, "Messages"): the checks a send or an
edit with an ``e2e`` object goes through, and what the rest of messaging
asks about such a message.

The server cannot read an encrypted message; it checks only what it can:
the object's shape and sizes, that the sending device is the sender's and
active, and that the message is under the conversation's current key
(``check_key_state``, read inside the send's transaction so that a message
is never stored under a key a rotation has just replaced).
"""

import base64
import binascii
from uuid import UUID

from django.db import connection, models
from django.db.models import Exists, OuterRef, QuerySet
from django.utils.translation import gettext as _

from accounts.models import User
from messaging.e2e.errors import E2eKeyStale, E2eNotAllowed, E2eRequired
from messaging.e2e.models import Device, DeviceStatus, EncryptedConversation
from messaging.errors import InvalidInput
from messaging.files.models import AttachmentKind
from messaging.models import MessageType

# The object a send carries, and the stored message keeps, as sent.
E2E_FIELDS = ("key_version", "device_id", "nonce", "ciphertext", "franking_tag")
B64_FIELDS = ("nonce", "ciphertext", "franking_tag")
# The b64 fields together, in characters (docs/e2e.md: 64 KiB).
MAX_B64_CHARS = 65536
NONCE_BYTES = 12
FRANKING_TAG_BYTES = 32
# AES-GCM appends a 16-byte tag: a shorter ciphertext cannot be one.
MIN_CIPHERTEXT_BYTES = 16
METADATA_KEY = "e2e"


def refusal_in_encrypted() -> InvalidInput:
    """What a feature the server would have to read or write for (scheduled
    messages, bots, webhooks, the assistant, meetings) answers in an
    encrypted conversation."""
    return InvalidInput(_("This conversation is end-to-end encrypted."))


def is_encrypted_conversation(conversation_id: UUID) -> bool:
    return EncryptedConversation.objects.filter(pk=conversation_id).exists()


def refuse_if_encrypted(conversation_id: UUID) -> None:
    if is_encrypted_conversation(conversation_id):
        raise refusal_in_encrypted()


def is_encrypted(message) -> bool:
    return message.message_type == MessageType.ENCRYPTED


def e2e_of(message) -> dict | None:
    """The ``e2e`` object of an encrypted message, as sent; None for any
    other message and for one deleted or hidden (gone like content)."""
    if not is_encrypted(message) or message.deleted_at or message.hidden_at:
        return None
    return (message.metadata or {}).get(METADATA_KEY)


def metadata_without_e2e(metadata: dict | None) -> dict:
    """A message's metadata as its payload shows it: the ``e2e`` object has
    its own top-level field."""
    if not metadata or METADATA_KEY not in metadata:
        return metadata or {}
    return {key: value for key, value in metadata.items() if key != METADATA_KEY}


def _b64(value: object, *, field: str) -> bytes:
    if not isinstance(value, str) or not value:
        raise InvalidInput(_("e2e.%(field)s must be base64 text.") % {"field": field})
    try:
        # validate: characters outside the alphabet are an error, not skipped.
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidInput(_("e2e.%(field)s is not valid base64.") % {"field": field}) from None


def clean_e2e(value: object) -> dict:
    """The ``e2e`` object of a send or an edit, checked and normalised:
    exactly ``E2E_FIELDS``; ``key_version`` a whole number from 1;
    ``device_id`` a UUID; ``nonce`` 12 bytes, ``franking_tag`` 32 bytes and
    ``ciphertext`` at least 16, each standard base64 with padding, the three
    at most ``MAX_B64_CHARS`` characters together (``too_large`` beyond).
    Anything else is ``invalid``."""
    if not isinstance(value, dict):
        raise InvalidInput(_("e2e must be an object."))
    unknown = sorted(set(value) - set(E2E_FIELDS))
    missing = [name for name in E2E_FIELDS if name not in value]
    if unknown or missing:
        raise InvalidInput(
            _("e2e has exactly these fields: %(fields)s.") % {"fields": ", ".join(E2E_FIELDS)}
        )
    key_version = value["key_version"]
    if isinstance(key_version, bool) or not isinstance(key_version, int) or key_version < 1:
        raise InvalidInput(_("e2e.key_version must be a whole number from 1."))
    if key_version > 2**31 - 1:
        raise InvalidInput(_("e2e.key_version must be a whole number from 1."))
    try:
        device_id = UUID(str(value["device_id"])) if isinstance(value["device_id"], str) else None
    except ValueError:
        device_id = None
    if device_id is None:
        raise InvalidInput(_("e2e.device_id must be a UUID."))
    if sum(len(v) if isinstance(v, str) else 0 for v in (value[f] for f in B64_FIELDS)) > (
        MAX_B64_CHARS
    ):
        raise InvalidInput(
            _("An encrypted message has at most %(count)s characters of base64.")
            % {"count": MAX_B64_CHARS},
            code="too_large",
        )
    if len(_b64(value["nonce"], field="nonce")) != NONCE_BYTES:
        raise InvalidInput(_("e2e.nonce must be %(count)s bytes.") % {"count": NONCE_BYTES})
    if len(_b64(value["franking_tag"], field="franking_tag")) != FRANKING_TAG_BYTES:
        raise InvalidInput(
            _("e2e.franking_tag must be %(count)s bytes.") % {"count": FRANKING_TAG_BYTES}
        )
    if len(_b64(value["ciphertext"], field="ciphertext")) < MIN_CIPHERTEXT_BYTES:
        raise InvalidInput(_("e2e.ciphertext is too short to be AES-GCM ciphertext."))
    return {
        "key_version": key_version,
        "device_id": str(device_id),
        "nonce": value["nonce"],
        "ciphertext": value["ciphertext"],
        "franking_tag": value["franking_tag"],
    }


def clean_plain_content_absent(content: object) -> None:
    """An encrypted send or edit carries no ``content`` (absent, null or "")."""
    if content not in (None, ""):
        raise InvalidInput(_("An encrypted message has no content; its text is in e2e."))


def _state_sql() -> str:
    state = EncryptedConversation._meta
    device = Device._meta
    qn = connection.ops.quote_name
    sql = (
        f"SELECT {qn('key_version')}, {qn('rotation_required')},"  # noqa: S608 - names from the models
        f" EXISTS (SELECT 1 FROM {qn(device.db_table)} WHERE {qn('id')} = %s"
        f" AND {qn('user_id')} = %s AND {qn('status')} = %s)"
        f" FROM {qn(state.db_table)} WHERE {qn('conversation_id')} = %s"
    )
    if connection.vendor == "postgresql":
        # A rotation (or a membership change that requires one) updates this
        # row; holding it shared until the send commits means one of the two
        # waits for the other: a message is never stored under a key version
        # that a committed rotation replaced. SQLite writes one at a time.
        sql += " FOR SHARE"
    return sql


_UUID = models.UUIDField()


def check_key_state(*, sender: User, conversation_id: UUID, e2e: dict) -> None:
    """Inside the send's (or edit's) transaction, after the conversation's
    row is locked (the same order as membership changes take): the
    conversation must be encrypted (``E2eNotAllowed``), its key current and
    no rotation due (``E2eKeyStale``), and ``e2e.device_id`` an active
    device of ``sender`` (``invalid``)."""
    # Raw SQL gets its ids as each database stores them (SQLite, the
    # embedded default, keeps UUIDs as text).
    device_id, user_id, conversation = (
        _UUID.get_db_prep_value(UUID(str(value)), connection)
        for value in (e2e["device_id"], sender.pk, conversation_id)
    )
    with connection.cursor() as cursor:
        cursor.execute(_state_sql(), [device_id, user_id, DeviceStatus.ACTIVE.value, conversation])
        row = cursor.fetchone()
    if row is None:
        raise E2eNotAllowed(_("This conversation is not end-to-end encrypted; send content."))
    key_version, rotation_required, device_active = row
    if rotation_required or key_version != e2e["key_version"]:
        raise E2eKeyStale(key_version=key_version, rotation_required=bool(rotation_required))
    if not device_active:
        raise InvalidInput(_("e2e.device_id is not an active device of yours."))


def e2e_required() -> E2eRequired:
    return E2eRequired(_("This conversation is end-to-end encrypted; send an e2e object."))


def summary(message) -> dict:
    """What the admin shows of an encrypted message: metadata only."""
    e2e = (message.metadata or {}).get(METADATA_KEY) or {}
    return {
        "key_version": e2e.get("key_version"),
        "device_id": e2e.get("device_id"),
        "ciphertext_chars": len(e2e.get("ciphertext") or ""),
    }


def plain_only(conversations: QuerySet) -> QuerySet:
    """``conversations`` without the end-to-end encrypted ones, as a
    condition on the same table (a send's claim joins no other)."""
    return conversations.filter(
        ~Exists(EncryptedConversation.objects.filter(conversation_id=OuterRef("pk")))
    )


def check_uploads(uploads, *, encrypted: bool) -> None:
    """An encrypted send attaches only encrypted uploads, a plain send none."""
    for upload in uploads:
        if (upload.kind == AttachmentKind.ENCRYPTED) != encrypted:
            if encrypted:
                raise InvalidInput(_("An encrypted message attaches only encrypted uploads."))
            raise InvalidInput(_("An encrypted upload goes only with an encrypted message."))
