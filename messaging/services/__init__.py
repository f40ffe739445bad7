"""Every messaging write. Views, API views, consumers, admin actions and tasks
call these; nothing else writes messaging rows or emits events.

Each service takes typed, keyword-only arguments (parsed at the edge by
``messaging.validation``), asks ``messaging.policy``, does its writes and its
audit row in one transaction, and publishes its events after commit.

The package's rooms: ``conversations`` (starting them, membership),
``messages`` (send, edit, delete), ``receipts`` (cursors), ``store`` (the one
path that stores a message), ``transactions`` (the write transaction and the
conversation lock), ``presence`` (stored presence), ``sockets`` (closing a
user's or a session's sockets), ``personal_archive`` (a member's own archive
of a conversation).
"""

from messaging.services.conversations import (
    add_participants,
    create_conversation,
    remove_participant,
    rename_conversation,
    set_archived,
)
from messaging.services.messages import SendResult, delete_message, edit_message, send_message
from messaging.services.personal_archive import set_archived_for_me
from messaging.services.receipts import mark_delivered, mark_read

__all__ = [
    "SendResult",
    "add_participants",
    "create_conversation",
    "delete_message",
    "edit_message",
    "mark_delivered",
    "mark_read",
    "remove_participant",
    "rename_conversation",
    "send_message",
    "set_archived",
    "set_archived_for_me",
]
