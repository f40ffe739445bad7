"""Reads of device keys, key state and envelopes (docs/e2e.md). Access
follows the project's rule: a conversation a person is not in, or a plain
one, is answered exactly as one that does not exist."""

from dataclasses import dataclass
from uuid import UUID

from django.db.models import QuerySet
from django.utils.translation import gettext as _

from accounts.models import User
from messaging import policy, selectors
from messaging.e2e.models import (
    Device,
    DeviceStatus,
    EncryptedConversation,
    KeyEnvelope,
    RecoveryBackup,
)
from messaging.errors import NotFound
from messaging.models import ConversationParticipant


def own_devices(user: User) -> QuerySet[Device]:
    """Every device of ``user``, whatever its status, newest first."""
    return Device.objects.filter(user=user).order_by("-created_at", "id")


def active_devices(user_ids) -> QuerySet[Device]:
    """The active devices (recovery included) of these people."""
    return Device.objects.filter(user_id__in=list(user_ids), status=DeviceStatus.ACTIVE).order_by(
        "user_id", "created_at", "id"
    )


def devices_of(viewer: User, user_id: UUID) -> list[Device]:
    """``user_id``'s active devices, for a viewer who may see that person's
    presence (themself, someone they share a conversation with or may
    message: ``policy.presence_visible_users``); NotFound for anyone else,
    as for nobody."""
    if not policy.presence_visible_users(viewer).filter(pk=user_id).exists():
        raise NotFound(_("No such user."))
    return list(active_devices([user_id]))


def encrypted_conversation_ids(user: User) -> list[UUID]:
    """The encrypted conversations ``user`` is a current member of."""
    return list(
        ConversationParticipant.objects.active()
        .filter(user=user, conversation__e2e_state__isnull=False)
        .values_list("conversation_id", flat=True)
    )


def encrypted_state_for(
    user: User, conversation_id: UUID, *, attempted: str
) -> EncryptedConversation:
    """The key state of an encrypted conversation ``user`` is a member of.
    A non-member is refused as ``selectors.membership_for`` refuses
    (recorded), and a plain conversation answers the same ``not_found``."""
    selectors.membership_for(user, conversation_id, attempted=attempted)
    state = EncryptedConversation.objects.filter(conversation_id=conversation_id).first()
    if state is None:
        raise NotFound(_("No such conversation."))
    return state


@dataclass(frozen=True)
class MemberDevices:
    user: User
    devices: list[Device]


def members_with_devices(conversation_id: UUID) -> list[MemberDevices]:
    """The current members of a conversation, in the order they joined,
    each with their active devices: two queries."""
    members = list(
        ConversationParticipant.objects.active()
        .filter(conversation_id=conversation_id)
        .select_related("user")
        .order_by("joined_at", "id")
    )
    devices: dict[UUID, list[Device]] = {m.user_id: [] for m in members}
    for device in active_devices(devices):
        devices[device.user_id].append(device)
    return [MemberDevices(m.user, devices[m.user_id]) for m in members]


def own_active_device(user: User, device_id: UUID) -> Device:
    """``user``'s active device ``device_id``; NotFound otherwise."""
    device = Device.objects.filter(pk=device_id, user=user, status=DeviceStatus.ACTIVE).first()
    if device is None:
        raise NotFound(_("No such device."))
    return device


def envelopes_for(
    user: User, device_id: UUID, *, conversation_id: UUID | None = None
) -> list[KeyEnvelope]:
    """The envelopes addressed to ``user``'s active device ``device_id``, of
    the encrypted conversations ``user`` is a current member of (or of
    ``conversation_id`` only: one they must be a member of), by
    conversation and version, with their signers."""
    own_active_device(user, device_id)
    if conversation_id is not None:
        encrypted_state_for(user, conversation_id, attempted="e2e.envelopes")
        conversations = [conversation_id]
    else:
        conversations = encrypted_conversation_ids(user)
    return list(
        KeyEnvelope.objects.filter(device_id=device_id, conversation_id__in=conversations)
        .select_related("signer_device")
        .order_by("conversation_id", "key_version")
    )


def has_recovery_backup(user: User) -> bool:
    return RecoveryBackup.objects.filter(user=user).exists()


def recovery_backup_of(user: User) -> RecoveryBackup:
    backup = RecoveryBackup.objects.filter(user=user).first()
    if backup is None:
        raise NotFound(_("No recovery key is set."))
    return backup
