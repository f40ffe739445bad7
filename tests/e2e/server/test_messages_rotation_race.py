"""A send racing a key rotation on the real PostgreSQL: the send reads the
key state under a shared row lock in its own transaction, so a message is
never stored under a key version that a committed rotation replaced."""

import threading
import time

import pytest
from django.db import connection, transaction

from messaging import services
from messaging.e2e.errors import E2eKeyStale
from messaging.e2e.models import EncryptedConversation
from messaging.models import Message

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]


def _wait_for_lock_waiter(timeout: float = 10.0) -> None:
    """Block until some session of this database waits on a row lock."""
    deadline = time.monotonic() + timeout
    with connection.cursor() as cursor:
        while time.monotonic() < deadline:
            cursor.execute("SELECT pg_stat_clear_snapshot()")
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity "
                "WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )
            if cursor.fetchone()[0]:
                return
            time.sleep(0.02)
    raise AssertionError("the send did not wait for the rotation")


def _run_together(*targets):
    """Each of ``targets`` on a thread of its own, all started, then joined."""
    threads = [threading.Thread(target=target) for target in targets]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)


def test_a_send_waiting_behind_a_rotation_is_refused_once_it_commits(e2e_msg_pair, e2e_msg_group):
    mentor, _ = e2e_msg_pair
    client_id, sealed = e2e_msg_group.seal(mentor, "written under key 1")
    locked = threading.Event()
    outcome: dict = {}

    def rotate_while_the_send_waits():
        try:
            with transaction.atomic():
                state = EncryptedConversation.objects.select_for_update().get(pk=e2e_msg_group.pk)
                locked.set()
                _wait_for_lock_waiter()  # the send queues behind the rotation
                state.key_version = 2
                state.save(update_fields=["key_version"])
        finally:
            connection.close()

    def send():
        try:
            locked.wait(timeout=10)
            services.send_message(
                sender=mentor,
                conversation_id=e2e_msg_group.pk,
                content="",
                client_id=client_id,
                e2e=sealed.e2e,
            )
            outcome["send"] = "stored"
        except Exception as error:
            outcome["send"] = error
        finally:
            connection.close()

    _run_together(rotate_while_the_send_waits, send)

    assert isinstance(outcome["send"], E2eKeyStale), outcome
    assert outcome["send"].key_version == 2
    assert not Message.objects.filter(conversation_id=e2e_msg_group.pk).exists()
    e2e_msg_group.conversation.refresh_from_db()
    assert e2e_msg_group.conversation.last_seq == 0


def test_a_rotation_waits_for_a_send_that_holds_the_key_state(e2e_msg_pair, e2e_msg_group):
    """The other order: the send's transaction has read key 1; a rotation
    that starts then waits until the message is stored, so the message is
    stored before key 2 exists, never after."""
    mentor, _ = e2e_msg_pair
    client_id, sealed = e2e_msg_group.seal(mentor, "just in time")
    read = threading.Event()
    order: list = []

    def send_and_hold():
        try:
            with transaction.atomic():
                services.send_message(
                    sender=mentor,
                    conversation_id=e2e_msg_group.pk,
                    content="",
                    client_id=client_id,
                    e2e=sealed.e2e,
                )
                read.set()
                _wait_for_lock_waiter()  # the rotation queues behind the send
                order.append("send committed")
        finally:
            connection.close()

    def rotate():
        try:
            read.wait(timeout=10)
            with transaction.atomic():
                EncryptedConversation.objects.select_for_update().get(pk=e2e_msg_group.pk)
                order.append("rotation locked")
                EncryptedConversation.objects.filter(pk=e2e_msg_group.pk).update(key_version=2)
        finally:
            connection.close()

    _run_together(send_and_hold, rotate)

    assert order == ["send committed", "rotation locked"]
    stored = Message.objects.get(conversation_id=e2e_msg_group.pk)
    assert stored.metadata["e2e"]["key_version"] == 1
