"""Missed-message email hand-off of the fan-out. Implemented by the
missed-message email work."""

from uuid import UUID


def schedule_for(*, conversation_id: UUID | str, user_ids: list) -> None:
    """Implemented by the missed-message email work.

    Called by ``fanout`` with the people of one conversation whose
    channels for this message include email; the email work waits its
    delay, skips what was read meanwhile, and writes its delivery records."""
