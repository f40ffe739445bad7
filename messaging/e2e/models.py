"""The tables of end-to-end encrypted conversations (docs/e2e.md). Loaded by
``messaging.models``; ``messaging.e2e.services`` is the only code that
writes them."""

import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class DeviceKind(models.TextChoices):
    BROWSER = "browser", _("Browser")
    # Its private keys are on the server, encrypted under the person's
    # recovery key (docs/e2e.md, "Recovery").
    RECOVERY = "recovery", _("Recovery key")


class DeviceStatus(models.TextChoices):
    # Waiting for an active device of the same person to approve it.
    PENDING = "pending", _("Waiting for approval")
    ACTIVE = "active", _("Active")
    REVOKED = "revoked", _("Revoked")


class Device(models.Model):
    """One browser (or the recovery key) of a person: the public halves of
    its ECDH and ECDSA P-256 key pairs. The id is made by the client, since
    the device statement it signs names it."""

    id = models.UUIDField(primary_key=True, editable=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="e2e_devices"
    )
    kind = models.CharField(max_length=10, choices=DeviceKind.choices, default=DeviceKind.BROWSER)
    name = models.CharField(max_length=100, blank=True, default="")
    status = models.CharField(
        max_length=10, choices=DeviceStatus.choices, default=DeviceStatus.PENDING
    )
    # Uncompressed SEC1 points (65 bytes), base64.
    ecdh_public = models.CharField(max_length=100)
    signing_public = models.CharField(max_length=100)
    # The device whose signature over this one's device statement made it
    # active (itself, for a person's first device).
    approved_by = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    approval_signature = models.CharField(max_length=100, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    approved_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["user", "status"], name="e2e_device_user_status_idx")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.name or self.id} of {self.user}"


class EncryptedConversation(models.Model):
    """Marks a conversation end-to-end encrypted, with its current key
    version and whether a new one must be made before anyone writes."""

    conversation = models.OneToOneField(
        "messaging.Conversation",
        primary_key=True,
        on_delete=models.CASCADE,
        related_name="e2e_state",
    )
    # 0 until the creator's browser posts the first key.
    key_version = models.PositiveIntegerField(default=0)
    rotation_required = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    rotated_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.conversation_id} at key {self.key_version}"


class ConversationKey(models.Model):
    """One version of a conversation's key: who made it and when. The key
    itself exists only inside its envelopes."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    conversation = models.ForeignKey(
        "messaging.Conversation", on_delete=models.CASCADE, related_name="e2e_keys"
    )
    version = models.PositiveIntegerField()
    created_by_device = models.ForeignKey(Device, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["conversation", "version"], name="uniq_e2e_conversation_key_version"
            )
        ]

    def __str__(self) -> str:
        return f"key {self.version} of {self.conversation_id}"


class KeyEnvelope(models.Model):
    """A conversation key of one version wrapped for one device, signed by
    the device that wrapped it (docs/e2e.md, "Conversation keys and
    envelopes")."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    conversation = models.ForeignKey(
        "messaging.Conversation", on_delete=models.CASCADE, related_name="e2e_envelopes"
    )
    key_version = models.PositiveIntegerField()
    device = models.ForeignKey(Device, on_delete=models.CASCADE, related_name="envelopes")
    signer_device = models.ForeignKey(Device, on_delete=models.PROTECT, related_name="+")
    ephemeral_public = models.CharField(max_length=100)
    nonce = models.CharField(max_length=24)
    wrapped = models.CharField(max_length=100)
    signature = models.CharField(max_length=100)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["device", "conversation", "key_version"],
                name="uniq_e2e_envelope_per_device",
            )
        ]

    def __str__(self) -> str:
        return f"key {self.key_version} of {self.conversation_id} for {self.device_id}"


class RecoveryBackup(models.Model):
    """The recovery device's private keys, encrypted in the person's browser
    under their recovery key (PBKDF2-SHA-256, AES-256-GCM). The server
    cannot open it."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        primary_key=True,
        on_delete=models.CASCADE,
        related_name="e2e_recovery",
    )
    device = models.ForeignKey(Device, on_delete=models.PROTECT, related_name="+")
    salt = models.CharField(max_length=44)
    iterations = models.PositiveIntegerField()
    nonce = models.CharField(max_length=24)
    ciphertext = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"recovery backup of {self.user_id}"
