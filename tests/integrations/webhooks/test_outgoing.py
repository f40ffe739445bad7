"""Outgoing webhooks in this process (tasks run at once, as in the embedded
default) against a real HTTP receiver on 127.0.0.1: the guide's own
receiver code (tests/integrations/receivers.py) checks every signature."""

import json
import time
import uuid

import pytest

from accounts.models import Role
from messaging import services
from messaging.integrations.bots import services as bot_services
from messaging.integrations.models import Bot, DeliveryState, OutgoingDelivery
from messaging.integrations.webhooks import dispatch, tasks
from messaging.integrations.webhooks.services import outgoing
from messaging.models import ConversationType, Message
from tests.integrations.receivers import serve_receiver

pytestmark = [pytest.mark.services, pytest.mark.django_db]


@pytest.fixture(autouse=True)
def _allowed_here(settings):
    settings.PARLEY_OUTGOING_WEBHOOK_ALLOW = ["127.0.0.1"]
    settings.PARLEY_OUTGOING_WEBHOOK_RETRY_SECONDS = 0
    settings.PARLEY_OUTGOING_WEBHOOK_TIMEOUT_SECONDS = 3
    dispatch.forget()


@pytest.fixture
def receiver():
    """``receiver(failures=0)``: the guide's receiver, checking the signature
    of the bot made afterwards (``holder["bot"]``)."""
    stops = []
    holder: dict = {}

    def start(failures: int = 0):
        far, stop = serve_receiver(lambda: holder["bot"].signing_secret, failures=failures)
        stops.append(stop)
        return far

    start.holder = holder
    yield start
    for stop in stops:
        stop()


@pytest.fixture
def world(assigned, receiver, django_capture_on_commit_callbacks):
    """A group of a mentor and a student with the mentor's webhook bot in it,
    its URL the receiver's."""
    mentor, student = assigned

    def make(*, failures: int = 0):
        far = receiver(failures=failures)
        bot = bot_services.create_bot(
            owner=mentor, display_name="Helper Bot", outgoing_url=far.url
        ).bot
        receiver.holder["bot"] = bot
        group = services.create_conversation(
            creator=mentor,
            kind=ConversationType.GROUP,
            participants=[student, bot.user],
            title="Study",
        )
        return mentor, student, bot, group, far

    return make


def sent(capture, sender, conversation, content):
    """Send, then run what the send queued after commit (routing, delivery,
    the bot's answer and what that queues)."""
    with capture(execute=True):
        return services.send_message(
            sender=sender, conversation_id=conversation.pk, content=content, client_id=uuid.uuid4()
        ).message


def test_a_mention_is_delivered_signed_and_the_answer_posted_once(
    world, django_capture_on_commit_callbacks
):
    mentor, student, bot, group, far = world()
    message = sent(django_capture_on_commit_callbacks, student, group, "@Helper Bot what is due?")
    assert len(far.requests) == 1
    request = far.requests[0]
    assert request["verified"]
    assert abs(int(request["headers"]["X-Parley-Timestamp"]) - time.time()) < 60
    body = json.loads(request["body"])
    assert body == {
        "type": "message",
        "bot_id": str(bot.pk),
        "message": {
            "id": str(message.pk),
            "conversation_id": str(group.pk),
            "seq": message.seq,
            "sender": {"id": str(student.pk), "display_name": student.display_name},
            "content": "@Helper Bot what is due?",
            "sent_at": message.sent_at.isoformat(),
        },
    }
    delivery = OutgoingDelivery.objects.get(bot=bot, message=message)
    assert (delivery.state, delivery.attempts, delivery.last_status) == (
        DeliveryState.DELIVERED,
        1,
        200,
    )
    assert request["headers"]["X-Parley-Delivery"] == str(delivery.pk)
    answers = Message.objects.filter(sender=bot.user)
    assert [a.content for a in answers] == [f"Hello, {student.display_name}!"]
    # The task again (a redelivery): nothing is posted, nothing is answered.
    tasks.deliver_outgoing(str(delivery.pk))
    tasks.route_message(str(message.pk))
    assert len(far.requests) == 1
    assert Message.objects.filter(sender=bot.user).count() == 1


def test_a_wrong_secret_is_refused_by_the_documented_receiver(
    world, django_capture_on_commit_callbacks
):
    mentor, student, bot, group, far = world()
    Bot.objects.filter(pk=bot.pk).update(signing_secret="0" * 64)
    sent(django_capture_on_commit_callbacks, student, group, "@Helper Bot hello")
    assert [r["verified"] for r in far.requests] == [False]
    delivery = OutgoingDelivery.objects.get(bot=bot)
    assert (delivery.state, delivery.last_status) == (DeliveryState.FAILED, 401)
    assert not Message.objects.filter(sender=bot.user).exists()


def test_only_mentions_and_direct_messages_reach_a_bot_and_never_a_bots_own(
    world, django_capture_on_commit_callbacks, mentor
):
    _, student, bot, group, far = world()
    sent(django_capture_on_commit_callbacks, student, group, "no mention here")
    sent(django_capture_on_commit_callbacks, mentor, group, "@all please read")
    sent(django_capture_on_commit_callbacks, bot.user, group, "@Helper Bot talking to myself")
    assert far.requests == []
    assert not OutgoingDelivery.objects.exists()
    with django_capture_on_commit_callbacks(execute=True):
        # At commit, this process reads its list of conversations with a bot again.
        direct = services.create_conversation(
            creator=mentor, kind=ConversationType.DIRECT, participants=[bot.user]
        )
    sent(django_capture_on_commit_callbacks, mentor, direct, "deploy please")
    assert len(far.requests) == 1
    assert Message.objects.filter(sender=bot.user, conversation=direct).count() == 1


def test_a_server_error_is_retried_a_client_error_is_not(
    world, django_capture_on_commit_callbacks, settings
):
    _, student, bot, group, far = world(failures=2)
    message = sent(django_capture_on_commit_callbacks, student, group, "@Helper Bot try hard")
    delivery = OutgoingDelivery.objects.get(message=message)
    assert (delivery.state, delivery.attempts) == (DeliveryState.DELIVERED, 3)
    assert Message.objects.filter(sender=bot.user).count() == 1
    # Given up after the last attempt.
    settings.PARLEY_OUTGOING_WEBHOOK_MAX_ATTEMPTS = 2
    far.failures_left = 5
    message = sent(django_capture_on_commit_callbacks, student, group, "@Helper Bot again")
    delivery = OutgoingDelivery.objects.get(message=message)
    assert (delivery.state, delivery.attempts, delivery.last_status) == (
        DeliveryState.FAILED,
        2,
        500,
    )


def test_without_the_allow_list_a_local_url_is_refused_at_send_time(
    world, django_capture_on_commit_callbacks, settings
):
    _, student, bot, group, far = world()
    settings.PARLEY_OUTGOING_WEBHOOK_ALLOW = []
    message = sent(django_capture_on_commit_callbacks, student, group, "@Helper Bot hi")
    assert far.requests == []
    delivery = OutgoingDelivery.objects.get(message=message)
    assert (delivery.state, delivery.attempts) == (DeliveryState.FAILED, 1)
    assert "private or local" in delivery.last_error


def test_the_metadata_address_is_refused_whatever_the_allow_list(
    world, django_capture_on_commit_callbacks, settings
):
    _, student, bot, group, far = world()
    settings.PARLEY_OUTGOING_WEBHOOK_ALLOW = ["169.254.0.0/16", "169.254.169.254"]
    # Saved past the check (as if the rules had changed since).
    Bot.objects.filter(pk=bot.pk).update(outgoing_url="http://169.254.169.254/latest/meta-data/")
    message = sent(django_capture_on_commit_callbacks, student, group, "@Helper Bot hi")
    delivery = OutgoingDelivery.objects.get(message=message)
    assert (delivery.state, delivery.attempts) == (DeliveryState.FAILED, 1)
    assert "private or local" in delivery.last_error
    assert far.requests == []


def test_the_send_asks_nothing_more_in_a_conversation_without_a_bot(
    direct, django_assert_num_queries, student
):
    message = Message(conversation_id=direct.pk, sender=student, content="hi")
    dispatch.conversations_with_bots()  # this process's list, read
    with django_assert_num_queries(0):
        dispatch.queue_on_send(message)


def test_routing_names_assistant_bots_instead_of_calling_them(
    admin_user, make_user, django_capture_on_commit_callbacks
):
    assistant = bot_services.create_bot(
        owner=admin_user, display_name="Tutor AI", kind="assistant"
    ).bot
    group = services.create_conversation(
        creator=admin_user,
        kind=ConversationType.GROUP,
        participants=[assistant.user, make_user(Role.STUDENT)],
        title="AI",
    )
    message = services.send_message(
        sender=admin_user, conversation_id=group.pk, content="@Tutor AI hi", client_id=uuid.uuid4()
    ).message
    routed = outgoing.route_message(message_id=message.pk)
    assert routed.assistants == [str(assistant.pk)]
    assert routed.deliveries == []
    assert not OutgoingDelivery.objects.exists()


def test_a_bot_is_told_by_its_webhook_not_by_notifications(
    world, django_capture_on_commit_callbacks
):
    from notifications.models import Notification

    _, student, bot, group, far = world()
    sent(django_capture_on_commit_callbacks, student, group, "@Helper Bot ping")
    assert len(far.requests) == 1
    assert not Notification.objects.filter(user=bot.user).exists()
