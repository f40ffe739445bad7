"""Concurrent writers on the real PostgreSQL: seq stays contiguous, a client_id
stores one message, a pair of people has one direct conversation, and an edit
that waited behind a delete does not bring the content back."""

import threading
import time
import uuid

import pytest
from django.db import connection, transaction

from accounts.models import Role
from messaging import services
from messaging.errors import ClientIdConflict, NotFound
from messaging.models import (
    Conversation,
    ConversationType,
    Message,
)

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]


def run_at_once(count: int, work) -> list:
    """Run ``work(index)`` in ``count`` threads released together; return
    each thread's result or exception, by index."""
    barrier = threading.Barrier(count)
    results: list = [None] * count

    def target(index: int) -> None:
        try:
            # No database use before the barrier: threads must not hold
            # pooled connections while they wait for each other.
            barrier.wait(timeout=30)
            results[index] = work(index)
        except BaseException as error:  # reported to the test below
            results[index] = error
        finally:
            connection.close()

    threads = [threading.Thread(target=target, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(t.is_alive() for t in threads), "a sender hung"
    return results


@pytest.fixture
def group(make_user):
    admin = make_user(Role.ADMIN)
    members = [make_user(Role.MENTOR) for _ in range(4)]
    conversation = services.create_conversation(
        creator=admin, kind=ConversationType.GROUP, participants=members, title="busy"
    )
    return conversation, [admin, *members]


def test_twenty_concurrent_sends_get_seqs_one_to_twenty(group):
    conversation, people = group

    def send(index):
        return services.send_message(
            sender=people[index % len(people)],
            conversation_id=conversation.pk,
            content=f"message {index}",
            client_id=uuid.uuid4(),
        )

    results = run_at_once(20, send)

    errors = [r for r in results if isinstance(r, BaseException)]
    assert errors == []
    assert all(r.created for r in results)
    seqs = sorted(r.message.seq for r in results)
    assert seqs == list(range(1, 21))
    stored = list(
        Message.objects.filter(conversation=conversation)
        .order_by("seq")
        .values_list("seq", flat=True)
    )
    assert stored == list(range(1, 21))
    conversation.refresh_from_db()
    assert conversation.last_seq == 20
    # Every thread's message is stored under the seq it was acknowledged with.
    assert {(r.message.pk, r.message.seq) for r in results} == set(
        Message.objects.filter(conversation=conversation).values_list("id", "seq")
    )


def test_resend_returns_the_original_and_a_changed_resend_is_refused(group):
    conversation, people = group
    sender = people[1]
    client_id = uuid.uuid4()
    first = services.send_message(
        sender=sender, conversation_id=conversation.pk, content="exactly once", client_id=client_id
    )
    again = services.send_message(
        sender=sender, conversation_id=conversation.pk, content="exactly once", client_id=client_id
    )
    assert first.created is True and again.created is False
    assert again.message.pk == first.message.pk and again.message.seq == 1
    with pytest.raises(ClientIdConflict, match="already used for a different message"):
        services.send_message(
            sender=sender,
            conversation_id=conversation.pk,
            content="changed",
            client_id=client_id,
        )
    assert Message.objects.filter(conversation=conversation).count() == 1
    conversation.refresh_from_db()
    assert conversation.last_seq == 1


def test_concurrent_resends_of_one_client_id_store_one_message(group):
    conversation, people = group
    sender = people[2]
    client_id = uuid.uuid4()

    results = run_at_once(
        8,
        lambda _: services.send_message(
            sender=sender,
            conversation_id=conversation.pk,
            content="retry storm",
            client_id=client_id,
        ),
    )

    assert [r for r in results if isinstance(r, BaseException)] == []
    assert sum(r.created for r in results) == 1
    assert len({r.message.pk for r in results}) == 1
    assert Message.objects.filter(sender=sender, client_id=client_id).count() == 1
    conversation.refresh_from_db()
    assert conversation.last_seq == 1


def test_one_client_id_raced_into_two_conversations_stores_one(group, make_user):
    conversation, people = group
    sender = people[0]
    other = services.create_conversation(
        creator=sender, kind=ConversationType.GROUP, participants=people[1:2], title="other"
    )
    client_id = uuid.uuid4()
    targets = [conversation, other] * 3

    results = run_at_once(
        len(targets),
        lambda i: services.send_message(
            sender=sender,
            conversation_id=targets[i].pk,
            content="same",
            client_id=client_id,
        ),
    )

    stored = Message.objects.get(sender=sender, client_id=client_id)
    for target, result in zip(targets, results, strict=True):
        if target.pk == stored.conversation_id:
            assert not isinstance(result, BaseException)
            assert result.message.pk == stored.pk
        else:
            assert isinstance(result, ClientIdConflict), result
    # The loser's seq was rolled back with it: no gap.
    seqs = dict(
        Conversation.objects.filter(pk__in=[conversation.pk, other.pk]).values_list(
            "id", "last_seq"
        )
    )
    assert sorted(seqs.values()) == [0, 1]


def test_concurrent_direct_creation_makes_one_conversation(assigned):
    mentor, student = assigned
    pairs = [(mentor, student), (student, mentor)] * 3

    results = run_at_once(
        len(pairs),
        lambda i: services.create_conversation(
            creator=pairs[i][0], kind=ConversationType.DIRECT, participants=[pairs[i][1]]
        ),
    )

    assert [r for r in results if isinstance(r, BaseException)] == []
    assert len({r.pk for r in results}) == 1
    assert Conversation.objects.count() == 1
    assert Conversation.objects.get().participants.count() == 2


def _wait_for_lock_waiter(timeout: float = 10.0) -> None:
    """Block until some session of this database waits on a row lock."""
    deadline = time.monotonic() + timeout
    with connection.cursor() as cursor:
        while time.monotonic() < deadline:
            # Activity is snapshotted once per transaction; take a fresh look.
            cursor.execute("SELECT pg_stat_clear_snapshot()")
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity "
                "WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )
            if cursor.fetchone()[0]:
                return
            time.sleep(0.02)
    raise AssertionError("nobody waited for the conversation lock")


def test_edit_waiting_behind_a_delete_does_not_restore_the_content(group):
    conversation, people = group
    author = people[1]
    message = services.send_message(
        sender=author,
        conversation_id=conversation.pk,
        content="regrettable",
        client_id=uuid.uuid4(),
    ).message
    locked = threading.Event()
    outcome: dict = {}

    def delete_while_holding_the_lock():
        try:
            with transaction.atomic():
                Conversation.objects.select_for_update().get(pk=conversation.pk)
                locked.set()
                _wait_for_lock_waiter()  # the editor queues behind us
                services.delete_message(actor=author, message_id=message.pk)
        finally:
            connection.close()

    def edit():
        try:
            locked.wait(timeout=10)
            services.edit_message(editor=author, message_id=message.pk, content="still here")
            outcome["edit"] = "done"
        except Exception as error:
            outcome["edit"] = error
        finally:
            connection.close()

    threads = [
        threading.Thread(target=delete_while_holding_the_lock),
        threading.Thread(target=edit),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert isinstance(outcome["edit"], NotFound), outcome
    message.refresh_from_db()
    assert message.deleted_at is not None
    assert message.content == ""
    assert message.edited_at is None
