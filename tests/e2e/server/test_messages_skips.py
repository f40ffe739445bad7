"""What the server does not do with an encrypted message, on purpose
(docs/e2e.md, "What stops working"): no Markdown, mentions, filter, link
previews, search row or bot dispatch; and the features that would make the
server read or write a conversation's text are refused there."""

from datetime import timedelta

import pytest
from django.utils import timezone

from messaging.errors import InvalidInput
from messaging.integrations.assistant import services as assistant
from messaging.integrations.meetings import services as meetings
from messaging.integrations.scheduling import services as scheduling
from messaging.integrations.webhooks.services import incoming
from messaging.models import Message
from messaging.search import selectors as search
from messaging.search.models import SearchDocument
from messaging.threads.models import LinkPreview

pytestmark = [pytest.mark.services, pytest.mark.django_db]

ENCRYPTED = "This conversation is end-to-end encrypted."


def test_an_encrypted_message_is_not_rendered_mentioned_filtered_previewed_or_indexed(
    e2e_msg_pair, e2e_msg_group, e2e_msg_send
):
    mentor, student = e2e_msg_pair
    message, _ = e2e_msg_send(mentor, e2e_msg_group, f"@{student.display_name} see https://x.test")
    message.refresh_from_db()
    assert message.message_type == "encrypted"
    assert message.content == message.content_html == ""
    assert set(message.metadata) == {"e2e"}  # no mentions
    assert not LinkPreview.objects.filter(message=message).exists()
    assert not SearchDocument.objects.filter(message_id=message.pk).exists()
    assert search.search(user=student, query="see").hits == []
    assert search.search(user=student, query=message.metadata["e2e"]["nonce"][:8]).hits == []


def test_scheduled_messages_are_refused(e2e_msg_pair, e2e_msg_group):
    mentor, _ = e2e_msg_pair
    with pytest.raises(InvalidInput, match=ENCRYPTED):
        scheduling.schedule_message(
            author=mentor,
            conversation_id=e2e_msg_group.pk,
            content="later",
            send_at=timezone.now() + timedelta(hours=1),
            time_zone="UTC",
        )


def test_incoming_webhooks_are_refused(e2e_msg_pair, e2e_msg_group):
    mentor, _ = e2e_msg_pair
    with pytest.raises(InvalidInput, match=ENCRYPTED):
        incoming.create_incoming_webhook(actor=mentor, conversation_id=e2e_msg_group.pk, name="CI")


def test_meetings_are_refused(e2e_msg_pair, e2e_msg_group, settings):
    settings.PARLEY_MEETINGS = {
        **settings.PARLEY_MEETINGS,
        "PROVIDER": "jitsi",
        "JITSI_URL": "https://meet.example.org",
        "JITSI_APP_ID": "parley-test",
        "JITSI_SECRET": "s" * 40,
    }
    mentor, _ = e2e_msg_pair
    with pytest.raises(InvalidInput, match=ENCRYPTED):
        meetings.start_meeting(actor=mentor, conversation_id=e2e_msg_group.pk, title="Check-in")
    assert not Message.objects.filter(conversation_id=e2e_msg_group.pk).exists()


def test_the_assistants_summary_is_refused(e2e_msg_pair, e2e_msg_group):
    mentor, _ = e2e_msg_pair
    with pytest.raises(InvalidInput, match=ENCRYPTED):
        assistant.summarise_unread(user=mentor, conversation_id=e2e_msg_group.pk)


def test_plain_conversations_keep_their_features(e2e_msg_pair, e2e_msg_plain):
    mentor, _ = e2e_msg_pair
    scheduled = scheduling.schedule_message(
        author=mentor,
        conversation_id=e2e_msg_plain.pk,
        content="later",
        send_at=timezone.now() + timedelta(hours=1),
        time_zone="UTC",
    )
    assert scheduled.pk
    issued = incoming.create_incoming_webhook(
        actor=mentor, conversation_id=e2e_msg_plain.pk, name="CI"
    )
    assert issued.token


def test_rebuilding_the_search_index_leaves_encrypted_messages_out(
    e2e_msg_pair, e2e_msg_group, e2e_msg_send
):
    from messaging.search.services import indexing

    mentor, _ = e2e_msg_pair
    message, _ = e2e_msg_send(mentor, e2e_msg_group)
    indexing.index_message(message)  # as a moderator's restore would
    indexing.rebuild()
    assert not SearchDocument.objects.filter(message_id=message.pk).exists()


def test_the_inbox_says_encrypted_message(client, e2e_msg_pair, e2e_msg_group, e2e_msg_send):
    mentor, student = e2e_msg_pair
    _, sealed = e2e_msg_send(mentor, e2e_msg_group, "inbox secret")
    client.force_login(student)
    page = client.get("/").content.decode()
    assert "Encrypted message" in page
    assert sealed.e2e["ciphertext"][:16] not in page
