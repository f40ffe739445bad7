"""Email settings and the embedded profile's Celery: `make run`'s
``runembedded`` starts the web server and a real worker (with beat) on the
filesystem broker and SQLite, and a message left unread is emailed to the
console after the delay. Each test runs Parley in child processes with
exactly the environment it names."""

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# The child gets none of the test run's own service settings.
DROPPED = {
    "DATABASE_URL",
    "REDIS_URL",
    "EMAIL_URL",
    "TEST_DATABASE_NAME",
    "CHANNEL_LAYER_PREFIX",
    "DJANGO_SETTINGS_MODULE",
    "CELERY_TASK_ALWAYS_EAGER",
    "PARLEY_VAR_DIR",
    "PARLEY_PROFILE",
    "DATABASE_POOL",
}

SUMMARY = """
import json
from django.conf import settings
from config.celery import app
print(json.dumps({
    "backend": settings.EMAIL_BACKEND,
    "host": getattr(settings, "EMAIL_HOST", None),
    "port": getattr(settings, "EMAIL_PORT", None),
    "tls": getattr(settings, "EMAIL_USE_TLS", False),
    "ssl": getattr(settings, "EMAIL_USE_SSL", False),
    "timeout": settings.EMAIL_TIMEOUT,
    "site": settings.PARLEY_SITE_URL,
    "broker": app.conf.broker_url,
    "transport": type(app.connection_for_read().transport).__module__,
    "eager": app.conf.task_always_eager,
    "scheduler": app.conf.beat_scheduler,
    "journal": settings.DATABASES["default"].get("OPTIONS", {}).get("init_command", ""),
}))
"""


def child_env(**env: str) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if k not in DROPPED}
    return {**base, "PYTHONUNBUFFERED": "1", **env}


def summary(**env: str) -> dict:
    done = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", SUMMARY],
        cwd=ROOT,
        env=child_env(**env),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize(
    ("url", "port", "tls", "ssl"),
    [
        ("smtp://mail.example.com:25", 25, False, False),
        ("smtp+tls://user:pw@mail.example.com:587", 587, True, False),
        ("smtps://user:pw@mail.example.com:465", 465, False, True),
        ("smtp+ssl://user:pw@mail.example.com:465", 465, False, True),
    ],
)
def test_email_url_selects_smtp_with_a_timeout(tmp_path, url, port, tls, ssl):
    found = summary(
        PARLEY_PROFILE="embedded", PARLEY_VAR_DIR=str(tmp_path), EMAIL_URL=url, EMAIL_TIMEOUT="7"
    )
    assert found["backend"] == "django.core.mail.backends.smtp.EmailBackend"
    assert (found["host"], found["port"], found["tls"], found["ssl"]) == (
        "mail.example.com",
        port,
        tls,
        ssl,
    )
    assert found["timeout"] == 7


def test_embedded_defaults_console_email_and_a_filesystem_broker(tmp_path):
    found = summary(PARLEY_PROFILE="embedded", PARLEY_VAR_DIR=str(tmp_path))
    assert found["backend"] == "django.core.mail.backends.console.EmailBackend"
    assert found["timeout"] == 10
    assert found["broker"].startswith("filesystem://")
    assert found["transport"] == "config.filesystem_broker"  # messages written whole
    assert found["eager"] is True  # tests and one-off commands
    assert found["scheduler"] == "django_celery_beat.schedulers:DatabaseScheduler"
    assert "journal_mode=WAL" in found["journal"]
    assert found["site"] == "http://127.0.0.1:8000"
    queued = summary(
        PARLEY_PROFILE="embedded", PARLEY_VAR_DIR=str(tmp_path), CELERY_TASK_ALWAYS_EAGER="false"
    )
    assert queued["eager"] is False
    assert (tmp_path / "celery" / "queue").is_dir()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _manage(*args: str, env: dict) -> None:
    done = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_runembedded_emails_an_unread_message_to_the_console(tmp_path):
    """`make run`'s steps on a fresh var/: the demo leaves unread direct
    messages; the worker started with the server emails them (console)
    after the delay, here 3 s; SIGTERM stops both processes."""
    env = child_env(
        PARLEY_PROFILE="embedded",
        PARLEY_VAR_DIR=str(tmp_path / "var"),
        CELERY_TASK_ALWAYS_EAGER="false",
        PARLEY_MISSED_EMAIL_DELAY_SECONDS="3",
        DEBUG="true",
    )
    _manage("migrate", "--noinput", env=env)
    _manage("setup_periodic_tasks", env=env)
    _manage("seed_demo", env=env)
    port = _free_port()
    log_path = tmp_path / "run.log"
    with open(log_path, "wb") as log:
        run = subprocess.Popen(
            [sys.executable, "manage.py", "runembedded", f"127.0.0.1:{port}"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            deadline = time.monotonic() + 120
            text = ""
            while time.monotonic() < deadline:
                text = log_path.read_text(errors="replace")
                if "Subject: Sam Student sent you a message" in text:
                    break
                assert run.poll() is None, text
                time.sleep(0.5)
            assert "Subject: Sam Student sent you a message" in text, text
            assert "List-Unsubscribe-Post: List-Unsubscribe=One-Click" in text
            # The web server of the same command answers.
            status = None
            login = f"http://127.0.0.1:{port}/login/"
            while status is None and time.monotonic() < deadline:
                try:
                    with urllib.request.urlopen(login, timeout=10) as page:
                        status = page.status
                except OSError:
                    assert run.poll() is None, log_path.read_text(errors="replace")
                    time.sleep(0.5)
            assert status == 200
            text = log_path.read_text(errors="replace")
            assert "database is locked" not in text
            # Production's server (config.server), not runserver's daphne.
            assert f"Uvicorn running on http://127.0.0.1:{port}" in text
            # SIGTERM to the command alone (a process manager's stop) stops
            # the server and the worker too: nothing is left of the group.
            run.send_signal(signal.SIGTERM)
            run.wait(timeout=30)
            deadline = time.monotonic() + 30
            while _group_alive(run.pid) and time.monotonic() < deadline:
                time.sleep(0.2)
            assert not _group_alive(run.pid), "the server or the worker outlived runembedded"
        finally:
            if _group_alive(run.pid):
                os.killpg(run.pid, signal.SIGKILL)
            run.wait()


def _group_alive(group: int) -> bool:
    try:
        os.killpg(group, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.mark.parametrize(
    ("given", "read"),
    [
        ("8000", ("127.0.0.1", "8000")),
        ("0.0.0.0:8001", ("0.0.0.0", "8001")),
        ("[::1]:8002", ("::1", "8002")),
    ],
)
def test_runembedded_reads_an_address_as_runserver_does(given, read):
    from notifications.management.commands.runembedded import _host_and_port

    assert _host_and_port(given) == read
