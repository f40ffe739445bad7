"""`make run`'s one command: the web server and a Celery worker with beat
inside it, on the embedded profile's broker (kombu's filesystem transport
under var/celery/, no server to install). Ctrl-C or SIGTERM stops both; if
either stops on its own, the other is stopped too.

The web server is production's (``python -m config.server``, the
Procfile's ``web``), not ``runserver``: what docs/protocol.md promises of
the server (close 1009 over 1 MiB, 1007 for bad UTF-8, 1012 on a restart,
4008 for a socket that stops reading) is then true of ``make run`` too.
Static files come from WhiteNoise, which reads them from the apps in this
profile; there is no reload on code changes."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

ROOT = Path(__file__).resolve().parents[3]


class Command(BaseCommand):
    help = "Run the web server and a Celery worker with beat together (embedded profile)."

    def add_arguments(self, parser):
        parser.add_argument("addrport", nargs="?", default="127.0.0.1:8000")

    def handle(self, *args, addrport: str, **options):
        if not settings.EMBEDDED:
            raise CommandError(
                "runembedded is for the embedded profile; production runs the Procfile."
            )
        env = {
            **os.environ,
            # Both processes queue tasks on the filesystem broker instead of
            # running them in the request (settings: eager is the default).
            "CELERY_TASK_ALWAYS_EAGER": "false",
            "PYTHONUNBUFFERED": "1",
        }
        worker = [
            sys.executable, "-m", "celery", "-A", "config", "worker",
            "--beat",  # one process: the embedded profile needs no separate beat
            "--pool", "solo",  # SQLite: one writer from the worker at a time
            "--without-gossip", "--without-mingle", "--without-heartbeat",
            "--loglevel", "INFO",
        ]  # fmt: skip
        host, port = _host_and_port(addrport)
        server = [sys.executable, "-m", "config.server", "--bind", host, "--port", port]
        # SIGTERM (a process manager, `kill`) stops both as Ctrl-C does,
        # rather than leave them running without this command; set before
        # they start, so no moment is without it.
        signal.signal(signal.SIGTERM, _stop_on_sigterm)
        processes = []
        try:
            processes.append(subprocess.Popen(worker, cwd=ROOT, env=env))  # noqa: S603
            processes.append(subprocess.Popen(server, cwd=ROOT, env=env))  # noqa: S603
            while all(p.poll() is None for p in processes):
                time.sleep(0.5)
        except KeyboardInterrupt:
            pass
        finally:
            # A second SIGTERM (managers send it again) must not cut the
            # stopping short.
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
            for process in processes:
                if process.poll() is None:
                    process.send_signal(signal.SIGTERM)
            for process in processes:
                try:
                    process.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()


def _stop_on_sigterm(signum, frame):
    raise KeyboardInterrupt


def _host_and_port(addrport: str) -> tuple[str, str]:
    """``host:port``, ``[::1]:port`` or a port alone (on 127.0.0.1), as
    runserver reads them."""
    host, _colon, port = addrport.rpartition(":")
    if not _colon:
        host, port = "127.0.0.1", addrport
    host = host.removeprefix("[").removesuffix("]")
    if not host or not port.isdigit():
        raise CommandError(f"Expected host:port or a port, not {addrport!r}.")
    return host, port
