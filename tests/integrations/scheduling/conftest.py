import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from messaging.integrations.scheduling import services


@pytest.fixture
def schedule():
    """``schedule(author, conversation, content, minutes=…)``: a scheduled
    message that many minutes from now (through the service)."""

    def make(author, conversation, content="Later", *, minutes=5):
        return services.schedule_message(
            author=author,
            conversation_id=conversation.pk,
            content=content,
            send_at=timezone.now() + timedelta(minutes=minutes),
            time_zone="Europe/Madrid",
        )

    return make


def later(minutes=10):
    """A time at which everything scheduled minutes ahead is due."""
    return timezone.now() + timedelta(minutes=minutes)


def new_id():
    return uuid.uuid4()
