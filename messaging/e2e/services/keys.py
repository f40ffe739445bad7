"""Conversation key versions: a new version with its envelopes, rotation
required, and the envelopes that come with a device's approval."""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from uuid import UUID

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from messaging import audit, limits
from messaging.e2e import crypto
from messaging.e2e import events as e2e_events
from messaging.e2e import selectors as e2e_selectors
from messaging.e2e.errors import BadSignature, DevicesChanged, KeyVersionConflict
from messaging.e2e.models import (
    ConversationKey,
    Device,
    DeviceStatus,
    EncryptedConversation,
    KeyEnvelope,
)
from messaging.errors import InvalidInput
from messaging.models import AuditAction, Conversation
from messaging.realtime import ratelimit


@dataclass(frozen=True)
class EnvelopeIn:
    """An envelope as a client posts it (its b64 fields well formed: the
    edge checked their sizes)."""

    conversation_id: UUID
    key_version: int
    device_id: UUID
    signer_device_id: UUID
    ephemeral_public: str
    nonce: str
    wrapped: str
    signature: str

    def signed(self) -> str:
        return crypto.envelope_signed(
            conversation_id=self.conversation_id,
            key_version=self.key_version,
            device_id=self.device_id,
            ephemeral_public=self.ephemeral_public,
            nonce=self.nonce,
            wrapped=self.wrapped,
        )

    def row(self) -> KeyEnvelope:
        return KeyEnvelope(
            conversation_id=self.conversation_id,
            key_version=self.key_version,
            device_id=self.device_id,
            signer_device_id=self.signer_device_id,
            ephemeral_public=self.ephemeral_public,
            nonce=self.nonce,
            wrapped=self.wrapped,
            signature=self.signature,
        )


def make_encrypted(conversation: Conversation) -> EncryptedConversation:
    """Mark a conversation being created end-to-end encrypted: no key yet,
    a rotation required (its creator's browser makes version 1). Inside the
    creation's transaction."""
    return EncryptedConversation.objects.create(
        conversation=conversation, key_version=0, rotation_required=True
    )


def require_rotation(conversation_ids: Iterable[UUID]) -> list[EncryptedConversation]:
    """A new key must be made in each of these conversations that is
    encrypted (the others are left alone): their state rows are locked and
    marked, and their members' sockets get ``e2e.rekey`` after commit. Call
    inside the transaction of the change that requires it."""
    ids = list(conversation_ids)
    if not ids:
        return []
    states = list(
        EncryptedConversation.objects.select_for_update()
        .filter(conversation_id__in=ids)
        .order_by("conversation_id")
    )
    marked = [state for state in states if not state.rotation_required]
    if marked:
        EncryptedConversation.objects.filter(
            conversation_id__in=[state.conversation_id for state in marked]
        ).update(rotation_required=True)
    for state in states:
        state.rotation_required = True
    e2e_events.rekey_on_commit(states)
    return states


def check_signatures(envelopes: Sequence[EnvelopeIn], signer: Device) -> None:
    """BadSignature unless every envelope is signed by ``signer``."""
    for envelope in envelopes:
        if not crypto.verify(signer.signing_public, envelope.signature, envelope.signed()):
            raise BadSignature(
                _("The envelope for device %(device)s has a signature that does not verify.")
                % {"device": envelope.device_id}
            )


def post_key_version(
    *, user: User, conversation_id: UUID, key_version: int, envelopes: Sequence[EnvelopeIn]
) -> EncryptedConversation:
    """Store a conversation's next key version: exactly ``key_version + 1``
    (else KeyVersionConflict: another member was first), with one envelope
    for each active device of each current member (else DevicesChanged,
    naming them), all signed by one active device of ``user``. The state
    row is locked: of two racing posts of one version, one wins."""
    # A non-member is refused (and the refusal recorded) before anything is
    # locked; one removed meanwhile is caught by the rotation their removal
    # requires.
    e2e_selectors.encrypted_state_for(user, conversation_id, attempted=AuditAction.E2E_KEY_ROTATE)
    with transaction.atomic():
        state = EncryptedConversation.objects.select_for_update().get(
            conversation_id=conversation_id
        )
        if key_version != state.key_version + 1:
            raise KeyVersionConflict(
                _("The conversation's key is at version %(version)s; post version %(next)s.")
                % {"version": state.key_version, "next": state.key_version + 1},
                key_version=state.key_version,
            )
        # Read under the lock: membership and device changes take it too.
        expected = {
            device.pk
            for member in e2e_selectors.members_with_devices(conversation_id)
            for device in member.devices
        }
        given = [envelope.device_id for envelope in envelopes]
        if (
            len(given) != len(set(given))
            or set(given) != expected
            or any(
                e.conversation_id != conversation_id or e.key_version != key_version
                for e in envelopes
            )
        ):
            raise DevicesChanged(
                _("Wrap the key once for each active device of each member."),
                devices=sorted(str(pk) for pk in expected),
            )
        signers = {envelope.signer_device_id for envelope in envelopes}
        signer = None
        if len(signers) == 1:
            signer = Device.objects.filter(
                pk=signers.pop(), user=user, status=DeviceStatus.ACTIVE
            ).first()
        if signer is None:
            raise InvalidInput(_("Sign every envelope with one of your active devices."))
        check_signatures(envelopes, signer)
        if not _required(state, signer):
            _spend_unrequired_rotation(conversation_id)
        ConversationKey.objects.create(
            conversation_id=conversation_id, version=key_version, created_by_device=signer
        )
        KeyEnvelope.objects.bulk_create(envelope.row() for envelope in envelopes)
        state.key_version = key_version
        state.rotation_required = False
        state.rotated_at = timezone.now()
        state.save(update_fields=["key_version", "rotation_required", "rotated_at"])
        audit.record(
            actor=user,
            action=AuditAction.E2E_KEY_ROTATE,
            conversation_id=conversation_id,
            key_version=key_version,
            devices=len(envelopes),
        )
        e2e_events.key_on_commit(state)
    return state


def _required(state: EncryptedConversation, signer: Device) -> bool:
    """Whether something asked for this version: a rotation is required, or
    the posting device has no envelope of the current one (its person's
    first device came after it was made: docs/e2e.md, Rotation)."""
    return (
        state.rotation_required
        or not KeyEnvelope.objects.filter(
            conversation_id=state.conversation_id, key_version=state.key_version, device=signer
        ).exists()
    )


def _spend_unrequired_rotation(conversation_id: UUID) -> None:
    """A version nothing required spends from the conversation's own bucket
    (``E2E_UNREQUIRED_ROTATION_BURST``, then
    ``E2E_UNREQUIRED_ROTATIONS_PER_HOUR``); past it ``RateLimited``."""
    ratelimit.take_sync(
        conversation_id,
        kind="e2e-unrequired-rotation",
        allowance=limits.SendAllowance(
            rate=float(settings.E2E_UNREQUIRED_ROTATIONS_PER_HOUR) / 3600,
            burst=int(settings.E2E_UNREQUIRED_ROTATION_BURST),
        ),
    )


def store_approval_envelopes(
    *, user: User, device: Device, signer: Device, envelopes: Sequence[EnvelopeIn]
) -> None:
    """The envelopes an approving device re-wrapped for the new ``device``:
    each addressed to it, signed by ``signer``, for an encrypted
    conversation ``user`` is a current member of, at a version that exists.
    An envelope already stored for the same device, conversation and
    version is kept. Inside the approval's transaction; the conversations'
    state rows are locked so that no key version is posted meanwhile
    without this device."""
    member_of = set(e2e_selectors.encrypted_conversation_ids(user))
    # Locked even without envelopes: a rotation posted while the device
    # turns active would leave it out.
    current = dict(
        EncryptedConversation.objects.select_for_update()
        .filter(conversation_id__in=member_of)
        .order_by("conversation_id")
        .values_list("conversation_id", "key_version")
    )
    for envelope in envelopes:
        if envelope.device_id != device.pk or envelope.signer_device_id != signer.pk:
            raise InvalidInput(
                _("Every envelope is for the device approved, signed by the approving one.")
            )
        if envelope.conversation_id not in current:
            raise InvalidInput(
                _("No encrypted conversation %(id)s of yours.") % {"id": envelope.conversation_id}
            )
        if not 1 <= envelope.key_version <= current[envelope.conversation_id]:
            raise InvalidInput(
                _("Conversation %(id)s has no key version %(version)s.")
                % {"id": envelope.conversation_id, "version": envelope.key_version}
            )
    check_signatures(envelopes, signer)
    KeyEnvelope.objects.bulk_create(
        (envelope.row() for envelope in envelopes), ignore_conflicts=True
    )
