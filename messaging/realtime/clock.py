"""The time the real-time package reads: wall time for expiries shared
between processes (presence entries, rate-limit buckets) and monotonic time
for what one socket measures against itself (the typing throttle).

Everything in ``messaging.realtime`` asks ``clock.wall()`` and
``clock.monotonic()`` rather than the ``time`` module, and waits with
``await clock.sleep(seconds)`` rather than ``asyncio.sleep``, so a test can
replace the clock with a ``FakeClock`` (``with clock.replaced(FakeClock()) as
fake: ... fake.advance(30)``) and control time instead of sleeping: a
``FakeClock`` sleeper wakes when ``advance`` moves time past its deadline. Expiries Redis
keeps by itself (a bucket key's TTL) still run on Redis's own clock; they
only drop state the clock-driven arithmetic would have refilled anyway.
"""

import asyncio
import contextlib
import threading
import time
from collections.abc import Iterator
from typing import Protocol


class Clock(Protocol):
    def wall(self) -> float: ...

    def monotonic(self) -> float: ...

    async def sleep(self, seconds: float) -> None: ...


class SystemClock:
    """The real clock."""

    def wall(self) -> float:
        return time.time()

    def monotonic(self) -> float:
        return time.monotonic()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


class FakeClock:
    """A clock that moves only when told to: ``advance(seconds)`` moves both
    wall and monotonic time forward by the same amount."""

    def __init__(self, wall: float = 1_700_000_000.0, monotonic: float = 1_000.0):
        self._lock = threading.Lock()
        self._wall = wall
        self._monotonic = monotonic
        # (deadline in monotonic time, its loop, the future that wakes it)
        self._sleepers: list[tuple[float, asyncio.AbstractEventLoop, asyncio.Future]] = []

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
        self._wake_due()

    async def sleep(self, seconds: float) -> None:
        """Return once ``advance`` has moved monotonic time ``seconds`` on."""
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        with self._lock:
            self._sleepers.append((self._monotonic + max(0.0, seconds), loop, future))
        self._wake_due()
        await future

    def _wake_due(self) -> None:
        with self._lock:
            due = [s for s in self._sleepers if s[0] <= self._monotonic]
            self._sleepers = [
                s for s in self._sleepers if s[0] > self._monotonic and not s[2].done()
            ]
        for _, loop, future in due:
            # advance() may be called from another thread than the sleeper's loop.
            with contextlib.suppress(RuntimeError):  # that loop has closed
                loop.call_soon_threadsafe(_wake, future)


def _wake(future: asyncio.Future) -> None:
    if not future.done():
        future.set_result(None)


_current: Clock = SystemClock()


def wall() -> float:
    """Seconds since the epoch, comparable across processes."""
    return _current.wall()


def monotonic() -> float:
    """Seconds from an arbitrary start that never goes back (this process only)."""
    return _current.monotonic()


async def sleep(seconds: float) -> None:
    """Wait ``seconds`` of this clock's time."""
    await _current.sleep(seconds)


@contextlib.contextmanager
def replaced(clock: Clock) -> Iterator[Clock]:
    """Use ``clock`` for every reading in this process until the block ends."""
    global _current
    previous, _current = _current, clock
    try:
        yield clock
    finally:
        _current = previous
