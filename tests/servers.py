"""Real ASGI server processes for cross-process and browser tests.

pytest-django's ``live_server`` cannot serve WebSockets, so these tests start
the Procfile's ASGI server (or ``PARLEY_TEST_ASGI_SERVER``'s) on the test
database and the test Redis, exactly as production runs.
"""

import atexit
import contextlib
import functools
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from django.conf import settings
from django.db import connection

from config.server import DEFAULT_SERVER, SERVERS

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_database_url() -> str:
    """The URL of the database this test run uses (pytest-django's test DB)."""
    db = connection.settings_dict
    user = db.get("USER") or "postgres"
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    host = db.get("HOST") or "127.0.0.1"
    port = db.get("PORT") or 5432
    return f"postgres://{user}{password}@{host}:{port}/{db['NAME']}"


@functools.cache
def _media_root() -> str:
    folder = tempfile.mkdtemp(prefix="parley-test-media-")
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    return folder


def child_environment(**overrides: str) -> dict:
    """The environment of a Parley process the tests start (a server, a
    Celery worker): the suite's own profile, embedded, switched to the test
    PostgreSQL and Redis by their URLs; ``overrides`` on top."""
    inherited = dict(os.environ)
    # pytest's name of the test running now: a server started ahead, for the
    # next test (SpareServers), would carry the wrong one; no process reads it.
    inherited.pop("PYTEST_CURRENT_TEST", None)
    return {
        **inherited,
        "PARLEY_PROFILE": "embedded",
        "DATABASE_URL": test_database_url(),
        "REDIS_URL": settings.REDIS_URL,
        "DEBUG": "true",
        "DATABASE_POOL": "false",
        "CHANNEL_LAYER_PREFIX": settings.REDIS_KEY_PREFIX,
        "PYTHONUNBUFFERED": "1",
        # Files the processes store go to a folder of the run's, never var/.
        "MEDIA_ROOT": _media_root(),
        **overrides,
    }


def production_profile(**overrides: str) -> dict:
    """``extra_env`` for a server in the production profile, as deployed
    behind a proxy that ends TLS: DEBUG off and every setting production
    requires, plain HTTP on the loopback interface. The test process's
    ``SECRET_KEY``, so the sessions it makes are the server's too. Pages
    need ``collectstatic`` first (the manifest storage); sockets and the API
    do not."""
    return {
        "PARLEY_PROFILE": "production",
        "DEBUG": "false",
        "SECRET_KEY": settings.SECRET_KEY,
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "PARLEY_SITE_URL": "http://127.0.0.1",
        "SECURE_SSL_REDIRECT": "false",
        "SESSION_COOKIE_SECURE": "false",
        "CSRF_COOKIE_SECURE": "false",
        **overrides,
    }


# Which ASGI server the tests start: the Procfile's by default; another one
# to run the suite on it (docs/operations.md, "ASGI server"). Every one is
# started through the Procfile's entry point, configured as production is.
ASGI_SERVERS = SERVERS


def asgi_server_name(name: str | None = None) -> str:
    """``name``, or the one ``PARLEY_TEST_ASGI_SERVER`` says (the Procfile's,
    ``config.server.DEFAULT_SERVER``, when unset)."""
    name = name or os.environ.get("PARLEY_TEST_ASGI_SERVER", DEFAULT_SERVER)
    if name not in ASGI_SERVERS:
        raise RuntimeError(f"PARLEY_TEST_ASGI_SERVER is one of {', '.join(ASGI_SERVERS)}")
    return name


def server_argv(port: int, application: str, server: str | None = None) -> list[str]:
    """The command line of one server process on 127.0.0.1:``port``:
    ``python -m config.server``, as the Procfile's ``web``."""
    name = asgi_server_name(server)
    options = ["--server", name]
    # uvicorn's WebSocket implementation, when another than its default.
    if name == "uvicorn" and os.environ.get("PARLEY_TEST_UVICORN_WS"):
        options += ["--ws", os.environ["PARLEY_TEST_UVICORN_WS"]]
    return [
        sys.executable,
        "-m",
        "config.server",
        *options,
        "--bind",
        "127.0.0.1",
        "--port",
        str(port),
        application,
    ]


# A request every server's HTTP parser refuses with 400 by itself, without
# the application: an answer means a process that serves is up (granian's
# supervisor listens before its worker has loaded the application).
READINESS_PROBE = b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: x\r\n\r\n"


# Servers still running: each runs in a process group of its own (so kill()
# reaches granian's worker), which a Ctrl-C in the terminal no longer
# reaches; they are ended when the test run exits, however it exits.
_running: "set[ServerProcess]" = set()


@atexit.register
def _end_servers_left_running() -> None:
    for server in list(_running):
        server.kill()


def server_environment(extra_env: dict | None) -> dict:
    """The environment of a server process: the test process itself runs
    without the pool (Makefile); the servers run as production does, unless
    the test says otherwise."""
    return child_environment(
        **{"DATABASE_POOL": "true", "DATABASE_POOL_MAX": "4", **(extra_env or {})}
    )


class ServerProcess:
    """One ASGI server process serving Parley on 127.0.0.1:<port>."""

    def __init__(
        self,
        *,
        extra_env: dict | None = None,
        log_dir: Path | None = None,
        application: str = "config.asgi:application",
        asgi_server: str | None = None,
        wait: bool = True,
    ):
        """``asgi_server`` names the server for a test that needs that one
        (``ASGI_SERVERS``); by default, the suite's."""
        self.port = free_port()
        self.log_path = (log_dir or Path(os.environ.get("TMPDIR", "/tmp"))) / (
            f"parley-server-{self.port}.log"
        )
        self._log = open(self.log_path, "wb")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            server_argv(self.port, application, asgi_server),
            cwd=ROOT,
            env=server_environment(extra_env),
            stdout=self._log,
            stderr=subprocess.STDOUT,
            # Its own process group: kill() ends a server's workers with it.
            start_new_session=True,
        )
        _running.add(self)
        if wait:
            self._wait_until_listening()

    @property
    def http_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ws/"

    def _wait_until_listening(self, timeout: float = 30.0) -> None:
        """Return once the server answers HTTP; polled often, as every test
        with a server waits here."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited early; see {self.log_path}:\n{self.log()}")
            if self._answers():
                return
            time.sleep(0.02)
        self.stop()
        raise RuntimeError(f"server did not start in {timeout}s; see {self.log_path}")

    def _answers(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1) as probe:
                probe.sendall(READINESS_PROBE)
                return probe.recv(16).startswith(b"HTTP/")
        except OSError:
            return False

    def log(self) -> str:
        self._log.flush()
        return self.log_path.read_text(errors="replace")[-5000:]

    def kill(self) -> None:
        """Die abruptly, as a crashed machine would: no cleanup runs, in
        any of the server's processes."""
        if self.process.poll() is None:
            self._signal_group(signal.SIGKILL)
            self.process.wait(10)
        _running.discard(self)
        self._log.close()

    def _signal_group(self, signum: int) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signum)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self._signal_group(signal.SIGKILL)
                self.process.wait(10)
        # A worker the server left behind goes with its group.
        self._signal_group(signal.SIGKILL)
        _running.discard(self)
        if not self._log.closed:
            self._log.close()


class SpareServers:
    """Servers started ahead, while the test before runs.

    A server process takes about two seconds of CPU to start (Django, the
    application, the ASGI server), and most tests with one start it exactly
    as the test before did. Once a launch (application, ASGI server,
    environment, log folder) has been asked for twice, the next one like it
    is started as soon as it is handed out, so it is up when the next test
    asks. A test still gets a process of its own, started fresh, that
    served no other test: a spare is handed out only when everything it was
    started with is what the test asks for now (the environment compared
    whole), and is never reused. Spares not handed out are stopped by
    ``stop_all``, before the test database goes.
    """

    # Spares kept at most: the launches of the last few kinds of test.
    KEPT = 2

    def __init__(self) -> None:
        self._spares: dict[tuple, ServerProcess] = {}
        self._asked: set[tuple] = set()

    @staticmethod
    def _launch(
        *,
        extra_env: dict | None = None,
        log_dir: Path | None = None,
        application: str = "config.asgi:application",
        asgi_server: str | None = None,
    ) -> tuple:
        environment = frozenset(server_environment(extra_env).items())
        return application, asgi_server_name(asgi_server), str(log_dir), environment

    def start(self, **kwargs) -> ServerProcess:
        """A running server, as ``ServerProcess(**kwargs)`` would start."""
        launch = self._launch(**kwargs)
        spare = self._spares.pop(launch, None)
        if spare is not None and spare.process.poll() is None:
            server = spare
            server._wait_until_listening()
        else:
            if spare is not None:
                spare.stop()
            server = ServerProcess(**kwargs)
        if launch in self._asked:
            self._start_spare(launch, kwargs)
        self._asked.add(launch)
        return server

    def _start_spare(self, launch: tuple, kwargs: dict) -> None:
        while len(self._spares) >= self.KEPT:
            oldest = next(iter(self._spares))
            self._spares.pop(oldest).stop()
        self._spares[launch] = ServerProcess(**kwargs, wait=False)

    def stop_all(self) -> None:
        for spare in self._spares.values():
            spare.stop()
        self._spares.clear()
