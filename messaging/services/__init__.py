"""Every messaging write. Views, API views, consumers, admin actions and tasks
call these; nothing else writes messaging rows or emits events.

Each service checks the access policy, does its writes and its audit row in
one transaction, and publishes its events after commit.
"""

from messaging.services.common import (
    SendResult,
    clean_content,
    clean_seq,
    clean_title,
    parse_uuid,
)
from messaging.services.conversations import (
    add_participants,
    create_conversation,
    remove_participant,
    rename_conversation,
    set_archived,
)
from messaging.services.messages import delete_message, edit_message, send_message
from messaging.services.receipts import mark_delivered, mark_read

__all__ = [
    "SendResult",
    "add_participants",
    "clean_content",
    "clean_seq",
    "clean_title",
    "create_conversation",
    "delete_message",
    "edit_message",
    "mark_delivered",
    "mark_read",
    "parse_uuid",
    "remove_participant",
    "rename_conversation",
    "send_message",
    "set_archived",
]
