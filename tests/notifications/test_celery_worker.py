"""A real Celery worker process on Redis, killed mid-send (fault case 7,
docs/reliability.md): the redelivered task run sends the email it had
claimed again, under the same ``Message-ID`` (notifications/services/mail.py).

Killed before the mail server accepted the message, the person gets it
once, from the second worker: nothing is dropped. Killed after the server
took it but before it said so (RFC 1047's window), the server holds two
copies of one ``Message-ID``, which a mail system shows as one. Killed in
the middle of a batch, every person gets their email, one ``Message-ID``
each.
"""

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from accounts.models import Role
from messaging import services
from messaging.models import ConversationType
from notifications.models import Delivery, DeliveryState
from notifications.services.mail import message_id
from tests import servers
from tests.notifications.mailserver import MailServer

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]


class Worker:
    """``celery -A config worker`` as production runs it, on the test
    database and the test Redis, in its own process group."""

    def __init__(self, log: Path, extra_env: dict):
        self.log = log
        env = servers.child_environment(**{"CELERY_TASK_ALWAYS_EAGER": "false", **extra_env})
        self._out = open(log, "ab")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "config",
                "worker",
                "--pool",
                "solo",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
                "--loglevel",
                "INFO",
                "--hostname",
                f"test-{uuid.uuid4().hex[:8]}@%h",
            ],
            cwd=servers.ROOT,
            env=env,
            stdout=self._out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def text(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_for(self, needle: str, timeout: float = 60) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if needle in self.text():
                return True
            if self.process.poll() is not None:
                return needle in self.text()
            time.sleep(0.2)
        return False

    def kill(self) -> None:
        """kill -9, the whole process group: nothing is acknowledged."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()
        self._out.close()

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        if not self._out.closed:
            self._out.close()


@pytest.fixture
def workers(tmp_path):
    started: list[Worker] = []

    def start(**env) -> Worker:
        worker = Worker(tmp_path / f"worker-{len(started)}.log", env)
        started.append(worker)
        return worker

    yield start
    for worker in started:
        worker.stop()


REDELIVERY_ENV = {
    "PARLEY_MISSED_EMAIL_DELAY_SECONDS": "0",
    "EMAIL_TIMEOUT": "900",
    # Redelivery of what a dead worker held comes quickly.
    "CELERY_VISIBILITY_TIMEOUT": "3",
    "CELERY_UNACKED_RESTORE_SECONDS": "1",
}


def wait_until(condition, what: str, timeout: float = 120):
    deadline = time.monotonic() + timeout
    while not (value := condition()):
        assert time.monotonic() < deadline, f"not within {timeout} s: {what}"
        time.sleep(0.1)
    return value


def message_emails():
    """The emails about messages: not a digest, which anyone's default
    (daily at 08:00) makes due when the suite runs in that hour and a
    sweep's task reaches these workers."""
    return Delivery.objects.filter(channel="email").exclude(key__startswith="digest:")


def emails_sent(people) -> bool:
    rows = message_emails().filter(user__in=people)
    return rows.count() == len(people) and not rows.exclude(state=DeliveryState.SENT).exists()


def worker_sending(workers, smtp, sender, conversation, content: str):
    """A worker on ``smtp``, then a message whose fan-out it emails; the
    worker and its environment (for the one that follows it)."""
    env = {**REDELIVERY_ENV, "EMAIL_URL": smtp.url}
    worker = workers(**env)
    assert worker.wait_for("ready."), worker.text()
    services.send_message(
        sender=sender, conversation_id=conversation.pk, content=content, client_id=uuid.uuid4()
    )
    return worker, env


# The fan-out (nudged by the send, run by the worker) queues each person's
# missed-message email; the tests kill the worker inside those sends.


def test_a_worker_killed_before_the_mail_server_accepted_loses_nothing(
    tmp_path, direct, assigned, workers, on_the_broker
):
    on_the_broker.control.purge()
    mentor, student = assigned
    # The server holds the message a while before it takes it, and drops it
    # when the client is gone by then.
    smtp = MailServer(tmp_path / "mail", hold_before_saving=2)
    try:
        first, env = worker_sending(workers, smtp, mentor, direct, "Free at 3?")
        wait_until(smtp.holding, "the worker is inside the send")
        first.kill()
        assert smtp.messages() == []

        second = workers(**env)
        wait_until(lambda: emails_sent([student]), "the email is sent again")
        assert "sent again by its run" in second.text()
    finally:
        smtp.stop()
    received = smtp.messages()
    assert len(received) == 1
    assert "Free at 3?" in received[0].get_body(("plain",)).get_content()
    delivery = message_emails().get(user=student)
    assert delivery.attempts == 2
    assert received[0]["Message-ID"] == message_id(delivery)


def test_a_worker_killed_after_the_mail_server_took_it_resends_the_same_message_id(
    tmp_path, direct, assigned, workers, on_the_broker
):
    on_the_broker.control.purge()
    mentor, student = assigned
    # A slow mail server: it has the message, then takes its time to say so.
    smtp = MailServer(tmp_path / "mail", data_delay=600)
    try:
        first, env = worker_sending(workers, smtp, mentor, direct, "Free at 3?")
        # The worker is inside the send: the server holds the message.
        assert len(smtp.wait_for(1, timeout=60)) == 1, first.text()
        assert message_emails().get(user=student).state == DeliveryState.PENDING
        first.kill()

        # The rerun sends again; this server answers late to every DATA, so
        # the second copy is waited for rather than the task's end.
        workers(**env)
        received = smtp.wait_for(2, timeout=120)
    finally:
        smtp.stop()
    assert len(received) == 2
    assert received[0]["Message-ID"] == received[1]["Message-ID"]
    assert message_emails().filter(user=student).count() == 1


def test_a_worker_killed_in_a_batch_leaves_no_one_without_their_email(
    tmp_path, make_user, workers, on_the_broker
):
    on_the_broker.control.purge()
    mentor = make_user(Role.ADMIN)
    people = [make_user(Role.STUDENT) for _ in range(6)]
    group = services.create_conversation(
        creator=mentor, kind=ConversationType.GROUP, participants=people, title="Batch"
    )
    smtp = MailServer(tmp_path / "mail", hold_before_saving=1)
    try:
        first, env = worker_sending(workers, smtp, mentor, group, "@all the room moved to B12")
        # Killed inside a send, some way into the batch.
        wait_until(lambda: len(smtp.messages()) >= 2 and smtp.holding(), "two sent, one more held")
        first.kill()

        workers(**env)
        wait_until(lambda: emails_sent(people), "everyone's email is sent")
    finally:
        smtp.stop()
    received = smtp.messages()
    by_person: dict[str, set[str]] = {}
    for message in received:
        by_person.setdefault(message["To"], set()).add(message["Message-ID"])
    assert sorted(by_person) == sorted(p.email for p in people)
    assert all(len(ids) == 1 for ids in by_person.values()), by_person
    # A copy beyond one each can only be the one the dead worker was sending.
    assert len(received) <= len(people) + 1
