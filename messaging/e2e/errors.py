"""The errors of end-to-end encryption: device and key management, the
encrypted send and reports (docs/api.md, "End-to-end encryption"). Each is a
``MessagingError``: the API and the socket answer with its code."""

from django.utils.translation import gettext as _

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


class E2eRequired(MessagingError):
    """Plain content (or a plain upload) for an encrypted conversation."""

    code = "e2e_required"
    http_status = 400


class E2eNotAllowed(MessagingError):
    """An ``e2e`` object (or an encrypted upload) for a plain conversation."""

    code = "e2e_not_allowed"
    http_status = 400


class E2eKeyStale(MessagingError):
    """Not under the conversation's current key, or a new key is due: the
    client fetches the key state (and makes the next key if a rotation is
    required), then encrypts again."""

    code = "e2e_key_stale"
    http_status = 409

    def __init__(self, *, key_version: int, rotation_required: bool):
        if rotation_required:
            message = _("This conversation needs a new key before anyone writes.")
        else:
            message = _("This conversation has a newer key; encrypt again with it.")
        super().__init__(message)
        self.key_version = key_version
        self.rotation_required = rotation_required

    def fields(self) -> dict:
        return {"key_version": self.key_version, "rotation_required": self.rotation_required}


class FrankingMismatch(MessagingError):
    """The reported text and key do not match what the sender committed to."""

    code = "franking_mismatch"
    http_status = 400
