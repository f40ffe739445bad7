"""Demo content: Maria has a message to her capstone group scheduled for
tomorrow at 9:00 on her clock (her time zone), listed on her Scheduled
page."""

import zoneinfo
from datetime import datetime, time, timedelta

from django.utils import timezone

from accounts.models import User
from messaging.integrations.models import ScheduledMessage
from messaging.integrations.scheduling import services
from messaging.integrations.scheduling.validation import clean_time_zone
from messaging.models import Conversation, ConversationParticipant

AUTHOR = "maria@parley.test"
CONVERSATION_TITLE = "Capstone study group"
TEXT = "Good morning! Reminder: project plans are due today. Post yours here by 17:00."


def seed_demo(users: dict[str, User]) -> None:
    """Schedule the demo message once (running again adds nothing); nothing
    when Maria or her group is missing."""
    author = users.get(AUTHOR)
    if author is None or ScheduledMessage.objects.filter(author=author, content=TEXT).exists():
        return
    conversation = Conversation.objects.filter(
        title=CONVERSATION_TITLE,
        pk__in=ConversationParticipant.objects.filter(user=author, left_at__isnull=True).values(
            "conversation_id"
        ),
    ).first()
    if conversation is None:
        return
    zone_name = clean_time_zone(author.time_zone)
    zone = zoneinfo.ZoneInfo(zone_name)
    tomorrow = timezone.now().astimezone(zone).date() + timedelta(days=1)
    send_at = datetime.combine(tomorrow, time(9, 0), tzinfo=zone)
    services.schedule_message(
        author=author,
        conversation_id=conversation.pk,
        content=TEXT,
        send_at=send_at,
        time_zone=zone_name,
    )
