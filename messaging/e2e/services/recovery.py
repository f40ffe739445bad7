"""The recovery backup: the recovery device's private keys, encrypted in
the browser under the person's recovery key (docs/e2e.md, "Recovery")."""

from uuid import UUID

from django.db import transaction
from django.utils.translation import gettext as _

from accounts.models import User
from messaging import audit
from messaging.e2e.models import Device, DeviceKind, DeviceStatus, RecoveryBackup
from messaging.e2e.services.devices import revoke_locked
from messaging.errors import InvalidInput
from messaging.models import AuditAction
from messaging.services.transactions import lock_person

# docs/e2e.md: PBKDF2-HMAC-SHA-256 with at least this many iterations.
MIN_ITERATIONS = 600_000


def put_recovery_backup(
    *, user: User, device_id: UUID, salt: str, iterations: int, nonce: str, ciphertext: str
) -> RecoveryBackup:
    """Store (or replace) the person's recovery backup for ``device_id``, an
    active recovery device of theirs. The recovery device of a previous
    backup is revoked: the old recovery key opens nothing any more."""
    with transaction.atomic():
        lock_person(user)
        device = Device.objects.filter(
            pk=device_id, user=user, kind=DeviceKind.RECOVERY, status=DeviceStatus.ACTIVE
        ).first()
        if device is None:
            raise InvalidInput(_("device_id must be your active recovery device."))
        if iterations < MIN_ITERATIONS:
            raise InvalidInput(
                _("iterations must be at least %(count)s.") % {"count": MIN_ITERATIONS}
            )
        previous = RecoveryBackup.objects.filter(user=user).select_related("device").first()
        if previous is not None:
            old = previous.device
            if old.pk != device.pk and old.status != DeviceStatus.REVOKED:
                revoke_locked(user, old)  # deletes ``previous`` too
            else:
                previous.delete()
        backup = RecoveryBackup.objects.create(
            user=user,
            device=device,
            salt=salt,
            iterations=iterations,
            nonce=nonce,
            ciphertext=ciphertext,
        )
        audit.record(
            actor=user,
            action=AuditAction.E2E_RECOVERY_SET,
            device_id=str(device.pk),
            replaced=previous is not None,
        )
    return backup
