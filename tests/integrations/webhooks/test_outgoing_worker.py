"""An outgoing webhook delivered by a real Celery worker process on Redis:
the receiver (the guide's code) fails twice with 500, then answers; the
worker tries three times, records each attempt, and the answer is posted
once."""

import uuid

import pytest

from messaging import services
from messaging.integrations.bots import services as bot_services
from messaging.integrations.models import DeliveryState, OutgoingDelivery
from messaging.integrations.webhooks import dispatch
from messaging.models import ConversationType, Message
from tests.integrations.receivers import serve_receiver
from tests.notifications.test_celery_worker import Worker, wait_until

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]


def test_a_failing_receiver_is_retried_by_the_worker_and_answered_once(
    assigned, settings, tmp_path, on_the_broker
):
    on_the_broker.control.purge()
    mentor, student = assigned
    settings.PARLEY_OUTGOING_WEBHOOK_ALLOW = ["127.0.0.1"]
    holder = {}
    far, stop = serve_receiver(lambda: holder["bot"].signing_secret, failures=2)
    worker = Worker(
        tmp_path / "worker.log",
        {
            "PARLEY_OUTGOING_WEBHOOK_ALLOW": "127.0.0.1",
            "PARLEY_OUTGOING_WEBHOOK_RETRY_SECONDS": "0.2",
        },
    )
    try:
        bot = bot_services.create_bot(
            owner=mentor, display_name="Helper Bot", outgoing_url=far.url
        ).bot
        holder["bot"] = bot
        group = services.create_conversation(
            creator=mentor,
            kind=ConversationType.GROUP,
            participants=[student, bot.user],
            title="Study",
        )
        dispatch.forget()
        assert worker.wait_for("ready."), worker.text()
        message = services.send_message(
            sender=student,
            conversation_id=group.pk,
            content="@Helper Bot when is the exam?",
            client_id=uuid.uuid4(),
        ).message
        delivery = wait_until(
            lambda: OutgoingDelivery.objects.filter(
                message=message, state=DeliveryState.DELIVERED
            ).first(),
            "the delivery is made",
            timeout=60,
        )
        answer = wait_until(
            lambda: Message.objects.filter(sender=bot.user).first(), "the answer is posted"
        )
    finally:
        worker.stop()
        stop()
    assert delivery.attempts == 3
    assert delivery.last_status == 200
    assert [r["verified"] for r in far.requests] == [True, True, True]
    assert len({r["headers"]["X-Parley-Delivery"] for r in far.requests}) == 1
    assert answer.conversation_id == group.pk
    assert answer.content == f"Hello, {student.display_name}!"
    assert Message.objects.filter(sender=bot.user).count() == 1
