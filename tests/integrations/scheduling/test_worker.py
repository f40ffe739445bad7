"""A real Celery worker on Redis sends a due scheduled message, and a
worker killed (SIGKILL) in the middle of sending it sends nothing: the
next worker sends it, once, whatever runs twice.

The kill does not depend on timing: the test holds the conversation's row
lock, so the worker's send waits inside its transaction, holding the
scheduled message's row, until the test sees it waiting and kills it.
"""

from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.utils import timezone

from messaging.integrations.models import ScheduledMessage, ScheduledState
from messaging.integrations.scheduling import services, tasks
from messaging.models import Conversation, Message
from tests.notifications import test_celery_worker as celery_worker

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]

workers = celery_worker.workers
wait_until = celery_worker.wait_until

# A dead worker's task comes back to the queue quickly.
ENV = {"CELERY_VISIBILITY_TIMEOUT": "3", "CELERY_UNACKED_RESTORE_SECONDS": "1"}
SWEEP = "messaging.integrations.scheduling.tasks.send_due_scheduled_messages"


def another_session_waits_for_a_lock() -> bool:
    with connection.cursor() as cursor:
        # Inside a transaction PostgreSQL keeps its first look at the
        # activity view: each poll asks afresh.
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND pid <> pg_backend_pid() AND wait_event_type = 'Lock'"
        )
        return cursor.fetchone()[0] > 0


def held_elsewhere(scheduled) -> bool:
    """Whether another session holds the scheduled message's row."""
    with transaction.atomic():
        free = ScheduledMessage.objects.select_for_update(skip_locked=True).filter(pk=scheduled.pk)
        return not free.exists()


def sweeps_succeeded(worker) -> int:
    return sum(
        1 for line in worker.text().splitlines() if f"{SWEEP}[" in line and " succeeded in " in line
    )


def test_a_worker_killed_while_sending_leaves_it_to_the_next_which_sends_it_once(
    direct, assigned, workers, on_the_broker
):
    on_the_broker.control.purge()
    mentor, _ = assigned
    scheduled = services.schedule_message(
        author=mentor,
        conversation_id=direct.pk,
        content="Sent once, whoever dies",
        send_at=timezone.now() - timedelta(seconds=5),  # due now
        time_zone="UTC",
    )

    with transaction.atomic():
        # The send's seq claim waits for this lock, inside the worker's
        # transaction, with the scheduled message's row locked.
        Conversation.objects.select_for_update().get(pk=direct.pk)
        first = workers(**ENV)
        assert first.wait_for("ready."), first.text()
        tasks.send_due_scheduled_messages.delay()
        wait_until(
            another_session_waits_for_a_lock, f"the worker waits in its send\n{first.text()}", 60
        )
        first.kill()
    # The dead worker's session goes once the lock it waited for is free;
    # until then it still holds the row (a sweep now would pass it by).
    wait_until(lambda: not held_elsewhere(scheduled), "the dead worker's transaction ends", 60)
    scheduled.refresh_from_db()
    assert scheduled.state == ScheduledState.SCHEDULED
    assert not Message.objects.filter(client_id=scheduled.pk).exists()

    second = workers(**ENV)
    assert second.wait_for("ready."), second.text()
    # Two sweeps at once, besides the dead worker's, which comes back.
    tasks.send_due_scheduled_messages.delay()
    tasks.send_due_scheduled_messages.delay()
    wait_until(
        lambda: ScheduledMessage.objects.get(pk=scheduled.pk).state == ScheduledState.SENT,
        "the second worker sends it",
        60,
    )
    wait_until(lambda: sweeps_succeeded(second) >= 2, "both sweeps ran", 60)

    [message] = Message.objects.filter(sender=mentor, client_id=scheduled.pk)
    scheduled.refresh_from_db()
    assert scheduled.message == message and message.content == "Sent once, whoever dies"
    conversation = Conversation.objects.get(pk=direct.pk)
    # No seq was taken by the killed send: the message is the conversation's first.
    assert message.seq == conversation.last_seq == 1
    assert list(Message.objects.filter(conversation=direct).values_list("seq", flat=True)) == [1]
