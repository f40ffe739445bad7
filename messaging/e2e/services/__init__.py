"""Every write of device keys, key versions, envelopes and the recovery
backup (docs/e2e.md). Rooms: ``devices`` (register, approve, revoke),
``keys`` (a new key version, rotation required, the envelopes an approval
carries), ``recovery`` (the recovery backup)."""

from messaging.e2e.services.devices import approve_device, register_device, revoke_device
from messaging.e2e.services.keys import make_encrypted, post_key_version, require_rotation
from messaging.e2e.services.recovery import put_recovery_backup

__all__ = [
    "approve_device",
    "make_encrypted",
    "post_key_version",
    "put_recovery_backup",
    "register_device",
    "require_rotation",
    "revoke_device",
]
