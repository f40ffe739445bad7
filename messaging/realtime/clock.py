"""The time the real-time package reads: wall time for expiries shared
between processes (presence entries, rate-limit buckets) and monotonic time
for what one socket measures against itself (the typing throttle).

Everything in ``messaging.realtime`` asks ``clock.wall()`` and
``clock.monotonic()`` rather than the ``time`` module, so a test can replace
the clock with a ``FakeClock`` (``with clock.replaced(FakeClock()) as fake:
... fake.advance(30)``) and control time instead of sleeping. Expiries Redis
keeps by itself (a bucket key's TTL) still run on Redis's own clock; they
only drop state the clock-driven arithmetic would have refilled anyway.
"""

import contextlib
import threading
import time
from collections.abc import Iterator
from typing import Protocol


class Clock(Protocol):
    def wall(self) -> float: ...

    def monotonic(self) -> float: ...


class SystemClock:
    """The real clock."""

    def wall(self) -> float:
        return time.time()

    def monotonic(self) -> float:
        return time.monotonic()


class FakeClock:
    """A clock that moves only when told to: ``advance(seconds)`` moves both
    wall and monotonic time forward by the same amount."""

    def __init__(self, wall: float = 1_700_000_000.0, monotonic: float = 1_000.0):
        self._lock = threading.Lock()
        self._wall = wall
        self._monotonic = monotonic

    def wall(self) -> float:
        with self._lock:
            return self._wall

    def monotonic(self) -> float:
        with self._lock:
            return self._monotonic

    def advance(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError("A clock does not go back.")
        with self._lock:
            self._wall += seconds
            self._monotonic += seconds


_current: Clock = SystemClock()


def wall() -> float:
    """Seconds since the epoch, comparable across processes."""
    return _current.wall()


def monotonic() -> float:
    """Seconds from an arbitrary start that never goes back (this process only)."""
    return _current.monotonic()


@contextlib.contextmanager
def replaced(clock: Clock) -> Iterator[Clock]:
    """Use ``clock`` for every reading in this process until the block ends."""
    global _current
    previous, _current = _current, clock
    try:
        yield clock
    finally:
        _current = previous
