"""The errors of device and key management (docs/api.md, "End-to-end
encryption"). Each is a ``MessagingError``: the API answers with its code."""

from messaging.errors import MessagingError


class BadSignature(MessagingError):
    """A device approval or an envelope whose signature does not verify
    with the signer's public key."""

    code = "bad_signature"
    http_status = 400


class NotPending(MessagingError):
    """Approval of a device that is already active or revoked."""

    code = "not_pending"
    http_status = 409


class KeyVersionConflict(MessagingError):
    """A new key version that is not the current one plus one: another
    member's browser was first."""

    code = "e2e_version_conflict"
    http_status = 409

    def __init__(self, message: str, *, key_version: int):
        super().__init__(message)
        self.key_version = key_version

    def fields(self) -> dict:
        return {"key_version": self.key_version}


class DevicesChanged(MessagingError):
    """A new key version whose envelopes are not exactly one for each active
    device of each current member: ``devices`` are the ones expected."""

    code = "e2e_devices_changed"
    http_status = 409

    def __init__(self, message: str, *, devices: list[str]):
        super().__init__(message)
        self.devices = devices

    def fields(self) -> dict:
        return {"devices": self.devices}
