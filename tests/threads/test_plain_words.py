"""Where a message is shown as a line of text (the inbox's preview, the
notification centre's excerpt, a push body), it reads as the conversation
shows it: the words, without the Markdown marks of its source."""

import uuid

import pytest

from messaging import events, services
from notifications.models import Notification

SOURCE = "**Plan** for _Friday_: run `make test`"
WORDS = "Plan for Friday: run make test"


@pytest.mark.django_db
def test_the_inbox_and_the_notification_show_the_words_not_the_marks(
    client, direct, django_capture_on_commit_callbacks
):
    mentor = direct.created_by
    student = direct.participants.exclude(user=mentor).get().user
    with django_capture_on_commit_callbacks(execute=True):
        services.send_message(
            sender=mentor, conversation_id=direct.pk, content=SOURCE, client_id=uuid.uuid4()
        )

    client.force_login(student)
    inbox = client.get("/").content.decode()
    assert WORDS in inbox
    assert "**Plan**" not in inbox

    notification = Notification.objects.get(user=student)
    assert notification.data["excerpt"] == WORDS


@pytest.mark.django_db
def test_a_reply_quotes_the_words_not_the_marks(direct):
    mentor = direct.created_by
    quoted = services.send_message(
        sender=mentor, conversation_id=direct.pk, content=SOURCE, client_id=uuid.uuid4()
    ).message
    reply = services.send_message(
        sender=mentor,
        conversation_id=direct.pk,
        content="see above",
        client_id=uuid.uuid4(),
        reply_to_id=quoted.pk,
    ).message
    assert events.message_payload(reply)["reply_to"]["excerpt"] == WORDS
