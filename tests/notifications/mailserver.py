"""A real SMTP server process for the email tests.

``python -m tests.notifications.mailserver --port P --folder F [--data-delay S]``
runs aiosmtpd on 127.0.0.1:P and saves every message it accepts as a file in
F, named in arrival order. With ``--data-delay`` it saves the message as soon
as the DATA transfer is complete, then waits that long before answering 250:
a sender killed while it waits has handed the message over, as with a slow
mail server.

``MailServer`` starts and stops one such process and reads what arrived.
"""

import argparse
import asyncio
import email
import email.policy
import itertools
import os
import signal
import socket
import subprocess
import sys
import time
from email.message import EmailMessage
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


class _Saver:
    def __init__(self, folder: Path, data_delay: float, hold_before_saving: float = 0.0):
        self.folder = folder
        self.data_delay = data_delay
        self.hold_before_saving = hold_before_saving
        self.counter = itertools.count(1)

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's name
        if self.hold_before_saving:
            # The message is here, not yet taken: a client gone meanwhile
            # never had it accepted, and it is dropped (RFC 5321: the
            # server is responsible for a message once it says 250).
            (self.folder / ".holding").touch()
            await asyncio.sleep(self.hold_before_saving)
            if server.transport is None or server.transport.is_closing():
                return "421 The client left"
        n = next(self.counter)
        temporary = self.folder / f".{n:04d}.tmp"
        temporary.write_bytes(envelope.original_content or envelope.content)
        temporary.rename(self.folder / f"{n:04d}.eml")  # whole files only
        if self.data_delay:
            await asyncio.sleep(self.data_delay)
        return "250 Message accepted"


def main() -> None:
    from aiosmtpd.controller import Controller

    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--folder", required=True)
    parser.add_argument("--data-delay", type=float, default=0.0)
    parser.add_argument("--hold-before-saving", type=float, default=0.0)
    options = parser.parse_args()
    saver = _Saver(Path(options.folder), options.data_delay, options.hold_before_saving)
    controller = Controller(saver, hostname="127.0.0.1", port=options.port)
    controller.start()
    stop = False

    def on_term(*_):
        nonlocal stop
        stop = True

    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, on_term)
    print("ready", flush=True)
    while not stop:
        time.sleep(0.1)
    controller.stop()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class MailServer:
    def __init__(self, folder: Path, *, data_delay: float = 0.0, hold_before_saving: float = 0.0):
        """``data_delay``: the answer to DATA comes that long after the
        message was saved. ``hold_before_saving``: the message is saved
        only that long after DATA, and only if the client is still there."""
        self.folder = folder
        self.folder.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tests.notifications.mailserver",
                "--port",
                str(self.port),
                "--folder",
                str(folder),
                "--data-delay",
                str(data_delay),
                "--hold-before-saving",
                str(hold_before_saving),
            ],
            cwd=ROOT,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        deadline = time.monotonic() + 20
        while True:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1) as s:
                    if s.recv(100).startswith(b"220"):
                        break
            except OSError:
                pass
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("The SMTP server did not start.")
            time.sleep(0.1)

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    def messages(self) -> list[EmailMessage]:
        return [
            email.message_from_bytes(path.read_bytes(), policy=email.policy.default)  # type: ignore[misc]
            for path in sorted(self.folder.glob("*.eml"))
        ]

    def holding(self) -> bool:
        """A message arrived and is being held (``hold_before_saving``)."""
        return (self.folder / ".holding").exists()

    def wait_for(self, count: int, timeout: float = 30) -> list[EmailMessage]:
        deadline = time.monotonic() + timeout
        while len(found := self.messages()) < count and time.monotonic() < deadline:
            time.sleep(0.1)
        return found

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


if __name__ == "__main__":
    main()


def send_django_mail_to(server: MailServer, settings) -> None:
    """Point Django's mail (pytest-django's ``settings``) at ``server``,
    plain SMTP, no login."""
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = server.port
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = ""
    settings.EMAIL_HOST_PASSWORD = ""
