"""One circuit per Redis server: after a call to it fails, calls fail at
once (no I/O) for ``RETRY_SECONDS``; then one call tries again while the
others still fail at once, and its answer closes or reopens the circuit.

Each call to a Redis that does not answer waits its whole socket timeout
(``REDIS_SOCKET_TIMEOUT``). A send makes several (its rate limit, cached
role limits and filter rules, the publish): without the circuit a slow or
blackholed Redis held every send for that many timeouts, and the thread
pool that serves sends with it. With it a send waits at most one timeout
for each Redis server it uses (docs/operations.md, "Faults and timeouts").

Thread-safe: the REST API calls from its threads, the consumers from the
event loop.
"""

import contextlib
import threading
import time
from collections.abc import Iterator
from urllib.parse import urlsplit

# How long calls to a Redis that failed fail at once before one tries again
# (the socket maintenance probes live delivery as often, every second).
RETRY_SECONDS = 1.0


class CircuitOpen(ConnectionError):
    """The call was not made: the Redis server failed moments ago. A
    ``ConnectionError``, which callers already treat as Redis being away."""


class Circuit:
    def __init__(self, name: str, retry_seconds: float = RETRY_SECONDS):
        self.name = name
        self.retry_seconds = retry_seconds
        self._lock = threading.Lock()
        self._retry_at: float | None = None  # None: closed, calls go through

    def check(self) -> None:
        """Raise ``CircuitOpen`` unless this call may go to Redis. Once the
        wait is over the first caller goes (the trial) and, until it has
        answered, the others still fail at once."""
        with self._lock:
            if self._retry_at is None:
                return
            now = time.monotonic()
            if now < self._retry_at:
                raise CircuitOpen(f"Redis at {self.name} failed moments ago")
            # The trial's own timeout bounds it; past that, another may try.
            self._retry_at = now + self.retry_seconds + _socket_timeout()

    def failed(self) -> None:
        with self._lock:
            self._retry_at = time.monotonic() + self.retry_seconds

    def succeeded(self) -> None:
        with self._lock:
            self._retry_at = None

    @contextlib.contextmanager
    def guarded(
        self, faults: tuple[type[BaseException], ...], *, probe: bool = False
    ) -> Iterator[None]:
        """One call to this Redis, in the block: refused at once
        (``CircuitOpen``) while the circuit is open, unless it is a
        ``probe`` (how recovery is noticed, so it always goes); one of
        ``faults`` raised in the block opens the circuit, and getting to
        its end closes it."""
        if not probe:
            self.check()
        try:
            yield
        except faults:
            self.failed()
            raise
        self.succeeded()

    @property
    def is_open(self) -> bool:
        return self._retry_at is not None


def _socket_timeout() -> float:
    from django.conf import settings

    return float(getattr(settings, "REDIS_SOCKET_TIMEOUT", 2.0))


_circuits: dict[str, Circuit] = {}
_circuits_lock = threading.Lock()


def circuit_for(url: str) -> Circuit:
    """The process's circuit for the Redis server of ``url`` (its database
    number aside: one server, one circuit)."""
    parts = urlsplit(url)
    server = f"{parts.scheme}://{parts.netloc}{parts.path if parts.scheme == 'unix' else ''}"
    with _circuits_lock:
        circuit = _circuits.get(server)
        if circuit is None:
            circuit = _circuits[server] = Circuit(server)
        return circuit


def reset() -> None:
    """Close every circuit (tests)."""
    with _circuits_lock:
        for circuit in _circuits.values():
            circuit.succeeded()
