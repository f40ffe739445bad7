"""A scheduled message's JSON shape, shared by the API and the Scheduled page."""

import zoneinfo

from messaging import events
from messaging.integrations.models import ScheduledMessage


def scheduled_payload(scheduled: ScheduledMessage, *, name: str) -> dict:
    """A scheduled message as the API and the Scheduled page show it."""
    try:
        zone = zoneinfo.ZoneInfo(scheduled.time_zone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        zone = zoneinfo.ZoneInfo("UTC")
    message = scheduled.message if scheduled.message_id else None
    conversation = scheduled.conversation
    return {
        "id": str(scheduled.pk),
        "conversation": {"id": str(conversation.pk), "type": conversation.type, "name": name},
        "content": scheduled.content,
        "send_at": events._iso(scheduled.send_at),
        "time_zone": scheduled.time_zone,
        "send_at_local": scheduled.send_at.astimezone(zone).isoformat(timespec="minutes"),
        "state": scheduled.state,
        "failure": scheduled.failure,
        "message_id": str(message.pk) if message else None,
        "message_seq": message.seq if message else None,
        "created_at": events._iso(scheduled.created_at),
        "updated_at": events._iso(scheduled.updated_at),
    }
