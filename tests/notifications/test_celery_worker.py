"""A real Celery worker process on Redis, killed mid-task: the redelivered
task sends nothing twice.

What "once" means (notifications/services/mail.py): *at most once*. The
delivery record is committed before the message goes to the mail server; a
task redelivered after its worker died finds the record and sends nothing.
Here the mail server has taken the message when the worker dies (it delays
only its answer to DATA), so exactly one email arrives.
"""

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from messaging import services
from notifications import tasks
from notifications.models import Delivery, DeliveryState
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


def test_a_worker_killed_mid_send_gives_one_email(
    tmp_path, direct, assigned, workers, on_the_broker
):
    app = on_the_broker
    app.control.purge()
    mentor, student = assigned
    services.send_message(
        sender=mentor,
        conversation_id=direct.pk,
        content="Are you free at 3?",
        client_id=uuid.uuid4(),
    )
    # A slow mail server: it has the message, then takes its time to say so.
    smtp = MailServer(tmp_path / "mail", data_delay=600)
    try:
        env = {
            "EMAIL_URL": smtp.url,
            "PARLEY_MISSED_EMAIL_DELAY_SECONDS": "0",
            "EMAIL_TIMEOUT": "900",
            # Redelivery of what a dead worker held comes quickly.
            "CELERY_VISIBILITY_TIMEOUT": "3",
            "CELERY_UNACKED_RESTORE_SECONDS": "1",
        }
        first = workers(**env)
        assert first.wait_for("ready."), first.text()

        result = tasks.send_missed_messages.apply_async(
            kwargs={"conversation_id": str(direct.pk), "user_id": str(student.pk)}
        )
        # The worker is inside the send: the server holds the message.
        assert len(smtp.wait_for(1, timeout=60)) == 1, first.text()
        delivery = Delivery.objects.get(user=student, channel="email")
        assert delivery.state == DeliveryState.PENDING
        first.kill()

        second = workers(**env)
        # The same task (same id) runs again on the new worker, and finds the
        # delivery record: it sends nothing.
        assert second.wait_for(f"[{result.id}] succeeded", timeout=120), second.text()
        assert f"[{result.id}] succeeded" in second.text()
        assert f"[{result.id}] received" in second.text()
        assert "False" in second.text().split(f"[{result.id}] succeeded", 1)[1].splitlines()[0]
        assert len(smtp.messages()) == 1
        assert Delivery.objects.filter(user=student, channel="email").count() == 1
        # The first attempt never finished: the record says so (at most once).
        delivery.refresh_from_db()
        assert delivery.state == DeliveryState.PENDING and delivery.finished_at is None
    finally:
        smtp.stop()
