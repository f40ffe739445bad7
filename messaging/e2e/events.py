"""The frames of device and key changes (docs/protocol.md, "End-to-end
encryption"), sent through ``messaging.events`` after commit. They are not
conversation messages: no seq; a client refetches what they name."""

from collections.abc import Iterable
from uuid import UUID

from messaging import events


def e2e_rekey(*, conversation_id: UUID | str, key_version: int) -> dict:
    return {
        "type": "e2e.rekey",
        "conversation_id": str(conversation_id),
        "key_version": key_version,
    }


def e2e_key(*, conversation_id: UUID | str, key_version: int) -> dict:
    return {"type": "e2e.key", "conversation_id": str(conversation_id), "key_version": key_version}


def e2e_devices(*, user_id: UUID | str) -> dict:
    return {"type": "e2e.devices", "user_id": str(user_id)}


def rekey_on_commit(states: Iterable) -> None:
    """Tell each conversation's members that a new key must be made
    (``states``: ``EncryptedConversation`` rows as they now stand)."""
    for state in states:
        events.publish_on_commit(
            events.conversation_group(state.conversation_id),
            e2e_rekey(conversation_id=state.conversation_id, key_version=state.key_version),
        )


def key_on_commit(state) -> None:
    events.publish_on_commit(
        events.conversation_group(state.conversation_id),
        e2e_key(conversation_id=state.conversation_id, key_version=state.key_version),
    )


def devices_on_commit(user_id: UUID | str, conversation_ids: Iterable[UUID]) -> None:
    """``user_id``'s devices changed: to their own sockets, and to the
    members of their encrypted conversations (one frame per conversation's
    group, not one per member; not again to their own sockets, which the
    hub skips by ``user_id``)."""
    frame = e2e_devices(user_id=user_id)
    events.publish_on_commit(events.user_group(user_id), frame)
    for conversation_id in conversation_ids:
        events.publish_on_commit(
            events.conversation_group(conversation_id), frame, user_id=str(user_id)
        )
