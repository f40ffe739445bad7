"""The fan-out walks each conversation from its cursor: a window of sends is
one task on the broker, a lost hand-off is found by the sweep, two walks of
one conversation tell each message once, a message whose fan-out fails does
not hold up the ones after it, and system notices move the cursor on."""

import threading
import uuid

import pytest
from django.db import connection

from accounts.models import MentorAssignment, Role
from messaging import services
from messaging.models import Conversation, ConversationType
from notifications import tasks
from notifications.models import FanoutCursor, Notification
from notifications.services import fanout, fanout_cursor
from tests.notifications.conftest import broker_messages, run_task

pytestmark = pytest.mark.django_db(transaction=True)


def send(user, conversation, text):
    return services.send_message(
        sender=user, conversation_id=conversation.pk, content=text, client_id=uuid.uuid4()
    ).message


def told_up_to(conversation) -> int:
    return FanoutCursor.objects.get(pk=conversation.pk).seq


@pytest.fixture
def handed_to_a_worker(settings, on_the_broker):
    """Sends nudge as in production (a worker elsewhere, the real broker);
    the nudge window is long enough that only the test hands it over."""
    settings.PARLEY_LIVE_TASKS_IN_PROCESS = False
    settings.PARLEY_FANOUT_NUDGE_SECONDS = 10
    on_the_broker.control.purge()
    yield on_the_broker
    fanout_cursor.discard_nudges()
    on_the_broker.control.purge()


@pytest.fixture
def second_direct(mentor, make_user):
    other = make_user(Role.STUDENT)
    MentorAssignment.objects.create(mentor=mentor, student=other)
    conversation = services.create_conversation(
        creator=mentor, kind=ConversationType.DIRECT, participants=[other]
    )
    return conversation, other


def test_a_window_of_sends_is_one_task_for_all_its_conversations(
    handed_to_a_worker, direct, assigned, second_direct
):
    mentor, student = assigned
    other_direct, other = second_direct
    first = [send(mentor, direct, f"one {n}") for n in range(5)]
    second = [send(mentor, other_direct, f"two {n}") for n in range(3)]
    assert broker_messages(handed_to_a_worker) == []  # nothing per send

    fanout_cursor.flush_nudges()
    [task] = broker_messages(handed_to_a_worker)
    assert task.headers["task"] == tasks.notify_conversations.name
    args, kwargs, _ = task.payload
    assert sorted(args[0]) == sorted([str(direct.pk), str(other_direct.pk)])
    assert not Notification.objects.exists()

    # What the worker does with it.
    assert run_task(tasks.notify_conversations, *args) == 8
    assert sorted(
        Notification.objects.filter(user=student).values_list("data__seq", flat=True)
    ) == sorted(m.seq for m in first)
    assert Notification.objects.filter(user=other).count() == len(second)
    assert told_up_to(direct) == Conversation.objects.get(pk=direct.pk).last_seq
    # Handed over twice (a redelivered task): nothing is told twice.
    assert run_task(tasks.notify_conversations, *args) == 0
    assert Notification.objects.count() == 8


def test_a_lost_hand_off_is_told_by_the_sweep(handed_to_a_worker, direct, assigned):
    mentor, student = assigned
    sent = [send(mentor, direct, f"lost {n}") for n in range(3)]
    fanout_cursor.flush_nudges()
    handed_to_a_worker.control.purge()  # the broker lost it
    assert not Notification.objects.exists()

    assert run_task(tasks.notify_pending) == 3
    assert {n.message_id for n in Notification.objects.filter(user=student)} == {m.pk for m in sent}
    assert told_up_to(direct) == sent[-1].seq
    assert run_task(tasks.notify_pending) == 0  # nothing left behind


def test_system_notices_move_the_cursor_and_tell_no_one(mentor, make_user):
    people = [make_user(Role.STUDENT) for _ in range(2)]
    for person in people:
        MentorAssignment.objects.create(mentor=mentor, student=person)
    group = services.create_conversation(
        creator=mentor, kind=ConversationType.GROUP, participants=people[:1], title="G"
    )
    services.add_participants(actor=mentor, conversation_id=group.pk, users=[people[1]])
    group.refresh_from_db()
    assert group.last_seq >= 1  # the "added" notice
    before = Notification.objects.count()
    fanout_cursor.notify_conversation(group.pk)
    assert told_up_to(group) == group.last_seq
    assert Notification.objects.filter(kind="group").count() == 0
    assert Notification.objects.count() == before


def test_a_failing_message_is_stepped_over_and_the_next_ones_told(
    handed_to_a_worker, direct, assigned, monkeypatch, caplog
):
    mentor, student = assigned
    broken, after = send(mentor, direct, "broken"), send(mentor, direct, "after")
    real = fanout.notify_message

    def failing_for_one(*, message_id, **kwargs):
        if message_id == broken.pk:
            raise RuntimeError("the fan-out of this message fails")
        return real(message_id=message_id, **kwargs)

    monkeypatch.setattr(fanout, "notify_message", failing_for_one)
    assert fanout_cursor.notify_conversation(direct.pk) == 1
    assert [n.message_id for n in Notification.objects.filter(user=student)] == [after.pk]
    assert told_up_to(direct) == after.seq
    assert f"Could not notify of message {broken.pk}" in caplog.text


def test_two_walks_of_one_conversation_tell_each_message_once(
    handed_to_a_worker, direct, assigned, monkeypatch
):
    mentor, student = assigned
    sent = [send(mentor, direct, f"race {n}") for n in range(20)]
    # Its cursor exists (a first walk's insert would make the second wait anyway).
    FanoutCursor.objects.create(conversation=direct, seq=0)
    created: list[int] = []
    start = threading.Barrier(2)
    real = fanout.notify_message
    walked: list[uuid.UUID] = []

    def counted(*, message_id, **kwargs):
        walked.append(message_id)
        return real(message_id=message_id, **kwargs)

    monkeypatch.setattr(fanout, "notify_message", counted)

    def walk():
        try:
            start.wait()
            created.append(fanout_cursor.notify_conversation(direct.pk))
        finally:
            connection.close()

    walkers = [threading.Thread(target=walk) for _ in range(2)]
    for walker in walkers:
        walker.start()
    for walker in walkers:
        walker.join(60)
    assert sorted(walked) == sorted(m.pk for m in sent)  # each once, by one walk
    assert sorted(created) == [0, len(sent)]
    assert Notification.objects.filter(user=student).count() == len(sent)


def test_the_sweep_is_scheduled():
    from io import StringIO

    from django.core.management import call_command
    from django_celery_beat.models import PeriodicTask

    call_command("setup_periodic_tasks", stdout=StringIO())
    task = PeriodicTask.objects.get(task=tasks.notify_pending.name)
    assert (task.interval.every, task.interval.period) == (1, "minutes")
