"""A device as the server's tests hold it: the suite's scheme
(``tests/e2e/scheme.py``) does all the crypto; this only shapes what a
browser would post."""

from dataclasses import dataclass

from tests.e2e import scheme
from tests.e2e.scheme import new_key

__all__ = ["Device", "new_key"]


@dataclass
class Device(scheme.DeviceKeys):
    """One browser: its two key pairs, private halves kept here."""

    name: str = "Test browser"

    def body(self, *, approver: "Device | None" = None, self_signed: bool = False) -> dict:
        """The registration body: self-signed (a first device), approved
        by ``approver``, or neither (pending)."""
        return self.registration(self.name, approver=self if self_signed else approver)

    def wrap(
        self, *, conversation_id, key_version: int, recipient_id, recipient_ecdh: str, key: bytes
    ) -> dict:
        """An envelope of ``key`` for the recipient device, signed by this one."""
        return scheme.wrap(
            key,
            conversation_id=conversation_id,
            key_version=key_version,
            recipient={"id": recipient_id, "ecdh_public": recipient_ecdh},
            signer=self,
        )

    def wrap_for(self, devices: list[dict], *, conversation_id, key_version: int, key: bytes):
        """Envelopes for each of ``devices`` (as the API lists them)."""
        return scheme.wrap_for(
            key, devices, conversation_id=conversation_id, key_version=key_version, signer=self
        )

    def unwrap(self, envelope: dict) -> bytes:
        """The key inside an envelope addressed to this device, its
        signature checked against the signer's key the server lists."""
        return scheme.unwrap(
            envelope,
            self,
            conversation_id=envelope["conversation_id"],
            key_version=envelope["key_version"],
            member_user_ids=None,
        )
