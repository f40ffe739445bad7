"""A person's devices: registering one, approving a pending one, revoking
one (docs/e2e.md, "Devices"). Each write locks the person's row, so that two
browsers registering at once do not both become the "first" device."""

from collections.abc import Sequence
from dataclasses import dataclass
from uuid import UUID

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from messaging import audit
from messaging.e2e import crypto
from messaging.e2e import events as e2e_events
from messaging.e2e import selectors as e2e_selectors
from messaging.e2e.errors import BadSignature, NotPending
from messaging.e2e.models import Device, DeviceKind, DeviceStatus, RecoveryBackup
from messaging.e2e.services.keys import EnvelopeIn, require_rotation, store_approval_envelopes
from messaging.errors import InvalidInput, NotFound
from messaging.models import AuditAction
from messaging.services.transactions import lock_person

# Devices a person may have that are not revoked (pending ones included).
MAX_DEVICES = 20


@dataclass(frozen=True)
class Approval:
    signer_device_id: UUID
    signature: str


def statement_of(device: Device) -> str:
    return crypto.device_statement(
        user_id=device.user_id,
        device_id=device.pk,
        ecdh_public=device.ecdh_public,
        signing_public=device.signing_public,
    )


def _approver(user: User, signer_device_id: UUID) -> Device:
    signer = (
        Device.objects.filter(pk=signer_device_id, user=user, status=DeviceStatus.ACTIVE)
        .select_for_update()
        .first()
    )
    if signer is None:
        raise InvalidInput(_("The approving device must be one of your active devices."))
    return signer


def _check_approval(device: Device, signer: Device, signature: str) -> None:
    if not crypto.verify(signer.signing_public, signature, statement_of(device)):
        raise BadSignature(_("The approval's signature does not verify."))


def _activate(device: Device, signer: Device, signature: str) -> None:
    device.status = DeviceStatus.ACTIVE
    device.approved_by = signer
    device.approval_signature = signature
    device.approved_at = timezone.now()


def register_device(
    *,
    user: User,
    device_id: UUID,
    name: str,
    kind: str,
    ecdh_public: str,
    signing_public: str,
    approval: Approval | None,
) -> Device:
    """Register a device's public keys (valid P-256 points: the edge
    checked them).

    A person's first device (no active device, recovery included) approves
    itself: ``approval`` signed by the new device over its own statement;
    it is active at once, and every encrypted conversation the person is in
    needs a new key (they had no device to receive one). A later device is
    pending without ``approval``, active with one by an active device of
    the same person. A recovery device always needs an approval by another
    device."""
    with transaction.atomic():
        lock_person(user)
        if Device.objects.filter(pk=device_id).exists():
            raise InvalidInput(_("This device id is taken; make a new one."))
        if (
            Device.objects.filter(user=user).exclude(status=DeviceStatus.REVOKED).count()
            >= MAX_DEVICES
        ):
            raise InvalidInput(
                _("You have %(count)s devices; remove one first.") % {"count": MAX_DEVICES}
            )
        device = Device(
            id=device_id,
            user=user,
            kind=kind,
            name=name,
            status=DeviceStatus.PENDING,
            ecdh_public=ecdh_public,
            signing_public=signing_public,
        )
        first = not Device.objects.filter(user=user, status=DeviceStatus.ACTIVE).exists()
        if first:
            if kind == DeviceKind.RECOVERY:
                raise InvalidInput(_("Make a device first."))
            if approval is None or approval.signer_device_id != device_id:
                raise InvalidInput(_("Your first device approves itself: sign its statement."))
            _check_approval(device, device, approval.signature)
            _activate(device, device, approval.signature)
        elif approval is not None:
            signer = _approver(user, approval.signer_device_id)
            _check_approval(device, signer, approval.signature)
            _activate(device, signer, approval.signature)
        elif kind == DeviceKind.RECOVERY:
            raise InvalidInput(_("A recovery device is approved by one of your devices."))
        device.save(force_insert=True)
        conversations = e2e_selectors.encrypted_conversation_ids(user)
        if first:
            require_rotation(conversations)
        audit.record(
            actor=user,
            action=AuditAction.E2E_DEVICE_ADD,
            device_id=str(device.pk),
            kind=device.kind,
            status=device.status,
        )
        e2e_events.devices_on_commit(user.pk, conversations)
    return device


def approve_device(
    *,
    user: User,
    device_id: UUID,
    signer_device_id: UUID,
    signature: str,
    envelopes: Sequence[EnvelopeIn] = (),
) -> Device:
    """Make ``user``'s pending device active: ``signer_device_id`` (an
    active device of theirs) signed its statement, and brings the keys it
    may read, re-wrapped for it (``envelopes``)."""
    with transaction.atomic():
        lock_person(user)
        device = Device.objects.select_for_update().filter(pk=device_id, user=user).first()
        if device is None:
            raise NotFound(_("No such device."))
        if device.status != DeviceStatus.PENDING:
            raise NotPending(_("This device is not waiting for approval."))
        signer = _approver(user, signer_device_id)
        _check_approval(device, signer, signature)
        store_approval_envelopes(user=user, device=device, signer=signer, envelopes=envelopes)
        _activate(device, signer, signature)
        device.save(update_fields=["status", "approved_by", "approval_signature", "approved_at"])
        audit.record(
            actor=user,
            action=AuditAction.E2E_DEVICE_APPROVE,
            device_id=str(device.pk),
            approved_by=str(signer.pk),
            envelopes=len(envelopes),
        )
        e2e_events.devices_on_commit(user.pk, e2e_selectors.encrypted_conversation_ids(user))
    return device


def revoke_device(*, user: User, device_id: UUID) -> None:
    """Revoke ``user``'s device for good (again: nothing happens). Every
    encrypted conversation they are in needs a new key; a recovery backup
    of this device is deleted (it could approve nothing any more)."""
    with transaction.atomic():
        lock_person(user)
        device = Device.objects.select_for_update().filter(pk=device_id, user=user).first()
        if device is None:
            raise NotFound(_("No such device."))
        if device.status == DeviceStatus.REVOKED:
            return
        revoke_locked(user, device)


def revoke_locked(user: User, device: Device) -> None:
    """Revoke ``device`` inside the caller's transaction (the person's row
    locked)."""
    device.status = DeviceStatus.REVOKED
    device.revoked_at = timezone.now()
    device.save(update_fields=["status", "revoked_at"])
    RecoveryBackup.objects.filter(user=user, device=device).delete()
    conversations = e2e_selectors.encrypted_conversation_ids(user)
    require_rotation(conversations)
    audit.record(
        actor=user,
        action=AuditAction.E2E_DEVICE_REVOKE,
        device_id=str(device.pk),
        kind=device.kind,
    )
    e2e_events.devices_on_commit(user.pk, conversations)
