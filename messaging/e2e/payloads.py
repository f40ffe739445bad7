"""The JSON shapes of devices, envelopes and the recovery backup, for the
API (docs/api.md, "End-to-end encryption")."""

from datetime import datetime

from messaging.e2e.models import EncryptedConversation


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def device_payload(device) -> dict:
    return {
        "id": str(device.pk),
        "user_id": str(device.user_id),
        "kind": device.kind,
        "name": device.name,
        "status": device.status,
        "ecdh_public": device.ecdh_public,
        "signing_public": device.signing_public,
        "approved_by": str(device.approved_by_id) if device.approved_by_id else None,
        "approval_signature": device.approval_signature,
        "created_at": _iso(device.created_at),
        "approved_at": _iso(device.approved_at),
        "revoked_at": _iso(device.revoked_at),
    }


def envelope_payload(envelope) -> dict:
    """With its signer (``select_related("signer_device")``), whose public
    key the reader checks the signature with."""
    signer = envelope.signer_device
    return {
        "conversation_id": str(envelope.conversation_id),
        "key_version": envelope.key_version,
        "device_id": str(envelope.device_id),
        "signer_device_id": str(envelope.signer_device_id),
        "ephemeral_public": envelope.ephemeral_public,
        "nonce": envelope.nonce,
        "wrapped": envelope.wrapped,
        "signature": envelope.signature,
        "signer_user_id": str(signer.user_id),
        "signer_signing_public": signer.signing_public,
    }


def recovery_payload(backup) -> dict:
    return {
        "device_id": str(backup.device_id),
        "salt": backup.salt,
        "iterations": backup.iterations,
        "nonce": backup.nonce,
        "ciphertext": backup.ciphertext,
        "created_at": _iso(backup.created_at),
    }


def cache_e2e_state(conversation, state: EncryptedConversation | None) -> None:
    """Tell ``conversation`` its key state (None: plain), so that its
    payload reads no row for it."""
    type(conversation).e2e_state.related.set_cached_value(conversation, state)


def e2e_of(conversation) -> dict | None:
    """A conversation's ``e2e`` field: None for a plain one, its key state
    for an encrypted one. Reads the cached ``e2e_state`` (``select_related``
    or the inbox's loader); one query when it is not cached."""
    descriptor = type(conversation).e2e_state
    if descriptor.related.is_cached(conversation):
        state = descriptor.related.get_cached_value(conversation)
    else:
        state = EncryptedConversation.objects.filter(conversation_id=conversation.pk).first()
        descriptor.related.set_cached_value(conversation, state)
    if state is None:
        return None
    return {"key_version": state.key_version, "rotation_required": state.rotation_required}
