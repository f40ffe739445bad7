"""The inbox's rows as plain values, to compare two ways of loading them:
every field of every row, of its conversation and of each member and
person, in order."""

from django.db import connection
from django.test.utils import CaptureQueriesContext

from messaging.e2e.payloads import e2e_of


def _instance(instance) -> dict:
    return {
        field.attname: getattr(instance, field.attname) for field in instance._meta.concrete_fields
    }


def inbox_shape(rows) -> list[tuple]:
    return [
        (
            _instance(row.conversation),
            _e2e(row.conversation),
            [
                (
                    _instance(member.user),
                    member.user_id,
                    member.role,
                    member.joined_at,
                    member.last_read_seq,
                    member.last_delivered_seq,
                )
                for member in row.members
            ],
            row.conversation.active_participants is row.members,
            row.archived_at,
            row.unread_count,
            row.last_message_seq,
            row.last_message_content,
            row.last_message_html,
            row.last_message_type,
            row.last_message_deleted_at,
            row.last_message_hidden_at,
            row.last_message_sender_id,
        )
        for row in rows
    ]


def _e2e(conversation) -> dict | None:
    """The key state the row came with (``e2e_of`` asks nothing then)."""
    with CaptureQueriesContext(connection) as asked:
        state = e2e_of(conversation)
    assert not asked.captured_queries
    return state
