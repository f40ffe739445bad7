"""Bounds on every PostgreSQL call, so a database fault is answered, never
waited out.

The settings bound what PostgreSQL and the network can bound:
``DATABASE_CONNECT_TIMEOUT`` (a connection attempt), ``DATABASE_POOL_TIMEOUT``
(waiting for a pooled connection), ``DATABASE_STATEMENT_TIMEOUT_MS`` (a
statement, enforced by the server) and TCP keepalives (a peer that
vanished). What none of them catches is a server that stopped answering on
a connection that is already open (a wedged host, a network blackhole that
still acknowledges packets): the statement timeout never fires, because the
server never runs the statement. The query watchdog covers that: every
statement has a deadline of the statement timeout plus ``GRACE_SECONDS``;
when it passes, the watchdog shuts the connection's socket down, the
waiting statement fails at once with ``OperationalError``, and the pool
discards the connection.

``DATABASE_FAULTS`` are the exceptions that mean "the database is
unavailable, retry later" (as opposed to a bug or a constraint).
"""

import heapq
import itertools
import logging
import socket
import threading
import time

from django.conf import settings
from django.db import InterfaceError, OperationalError
from django.db.backends.signals import connection_created

logger = logging.getLogger(__name__)

DATABASE_FAULTS = (OperationalError, InterfaceError)
# How long past the server's own statement timeout the client waits.
GRACE_SECONDS = 2.0


def statement_deadline_seconds() -> float | None:
    """How long one statement may take before the watchdog cuts it off, or
    None when statements are unbounded (``DATABASE_STATEMENT_TIMEOUT_MS=0``)."""
    timeout_ms = getattr(settings, "DATABASE_STATEMENT_TIMEOUT_MS", 0)
    return timeout_ms / 1000 + GRACE_SECONDS if timeout_ms else None


class _Watchdog:
    """One thread for the process: a heap of (deadline, token); a statement
    registers before it runs and unregisters when it returns."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._heap: list[tuple[float, int]] = []
        self._watched: dict[int, object] = {}  # token -> psycopg connection
        self._tokens = itertools.count()
        self._thread: threading.Thread | None = None

    def watch(self, raw_connection, seconds: float) -> int:
        token = next(self._tokens)
        with self._cond:
            self._watched[token] = raw_connection
            heapq.heappush(self._heap, (time.monotonic() + seconds, token))
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="db-statement-watchdog", daemon=True
                )
                self._thread.start()
            elif self._heap[0][1] == token:
                self._cond.notify()
        return token

    def release(self, token: int) -> None:
        with self._cond:
            self._watched.pop(token, None)

    def _run(self) -> None:
        while True:
            with self._cond:
                while self._heap and self._heap[0][1] not in self._watched:
                    heapq.heappop(self._heap)  # finished in time
                if not self._heap:
                    self._cond.wait()
                    continue
                deadline, token = self._heap[0]
                wait = deadline - time.monotonic()
                if wait > 0:
                    self._cond.wait(wait)
                    continue
                heapq.heappop(self._heap)
                raw_connection = self._watched.pop(token)
            _cut_off(raw_connection)


def _cut_off(raw_connection) -> None:
    """Shut the connection's socket down under the statement waiting on it."""
    try:
        fd = raw_connection.pgconn.socket
        with socket.fromfd(fd, socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.shutdown(socket.SHUT_RDWR)
        logger.warning("A database statement outlived its deadline; its connection was cut off")
    except Exception:
        logger.debug("Could not cut off a database connection", exc_info=True)


_watchdog = _Watchdog()


def _statement_deadline(execute, sql, params, many, context):
    seconds = statement_deadline_seconds()
    raw_connection = context["connection"].connection
    if seconds is None or raw_connection is None:
        return execute(sql, params, many, context)
    token = _watchdog.watch(raw_connection, seconds)
    try:
        return execute(sql, params, many, context)
    finally:
        _watchdog.release(token)


def _install_deadline(sender, connection, **kwargs) -> None:
    if connection.vendor == "postgresql" and _statement_deadline not in connection.execute_wrappers:
        connection.execute_wrappers.append(_statement_deadline)


def install() -> None:
    """Give every PostgreSQL connection of this process the statement deadline."""
    connection_created.connect(_install_deadline, dispatch_uid="parley-statement-deadline")
