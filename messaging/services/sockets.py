"""Ending live sockets: every one of a user (deactivation) or of one session
(logout). Each such socket closes with 4401 when the internal
``session.revoked`` event reaches it (docs/protocol.md, close codes)."""

from uuid import UUID

from messaging import events


def close_user_sockets(*, user_id: UUID | str) -> None:
    """Close every socket of ``user_id`` once the current transaction commits."""
    events.publish_on_commit(events.user_group(user_id), events.session_revoked())


def close_session_sockets(*, session_key: str) -> None:
    """Close the sockets of session ``session_key`` once the current
    transaction commits (at once outside one)."""
    events.publish_on_commit(events.session_group(session_key), events.session_revoked())
