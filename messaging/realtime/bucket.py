"""A token bucket of one socket, kept in the process (no Redis): the frame
budgets of a socket (every frame, typing frames, receipt frames) are its
alone and die with it. Time is ``messaging.realtime.clock``'s, so tests
move it with a ``FakeClock``."""

from messaging.realtime import clock


class SocketBucket:
    """Full at first; ``rate`` tokens a second up to ``burst``. Rate and
    burst are passed at each call, read from the settings then, so a
    changed setting applies to sockets already open."""

    __slots__ = ("_tokens", "_at")

    def __init__(self) -> None:
        self._tokens: float | None = None
        self._at = 0.0

    def level(self, rate: float, burst: float) -> float:
        """The tokens there are now (refilled since the last call)."""
        now = clock.monotonic()
        if self._tokens is None:
            self._tokens = float(burst)
        else:
            self._tokens = min(float(burst), self._tokens + (now - self._at) * rate)
        self._at = now
        return self._tokens

    def take(self, rate: float, burst: float) -> bool:
        """Spend one token if there is one."""
        if self.level(rate, burst) >= 1:
            self._tokens = (self._tokens or 0.0) - 1
            return True
        return False

    def seconds_to_next(self, rate: float) -> float:
        """How long until one whole token is there (0 when it is)."""
        return max(0.0, (1 - (self._tokens or 0.0)) / rate) if rate > 0 else 0.0
