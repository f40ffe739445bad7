"""How often one socket's ``presence.set`` is told to the person's contacts.

A change of status costs a write to ``user_presence``, a query for the
person's contacts and a ``presence`` event to every one of them; a socket
flipping between online and away as fast as its frame budget allows would
have had every contact hear each flip. The socket's own entry in the
presence store changes at once (its ``presence.query`` answers are never
stale); what is told is paced: a burst (``PRESENCE_ANNOUNCE_BURST``), then
so many a second (``PRESENCE_ANNOUNCES_PER_SECOND``). A change past the
budget is held, and once a token is back the status the person then has
is told, once: the last word always arrives, the flips in between do not.
Nothing is refused: a client that went away and came back is never left
shown as away.
"""

import asyncio
from collections.abc import Awaitable, Callable

from messaging import limits
from messaging.realtime import clock
from messaging.realtime.bucket import SocketBucket


class PresencePace:
    """One socket's budget of presence announcements and its held one."""

    def __init__(self, tell_current: Callable[[], Awaitable[None]]):
        self._budget = SocketBucket()
        self._tell_current = tell_current
        self._held: asyncio.Task | None = None

    def admit(self) -> bool:
        """Whether a change may be told now. When not, the status the person
        has once a token is back is told then (one announcement for any
        number of held changes)."""
        if self._held is not None:
            return False
        if self._budget.take(_rate(), _burst()):
            return True
        self._held = asyncio.ensure_future(self._release())
        return False

    async def _release(self) -> None:
        await clock.sleep(max(self._budget.seconds_to_next(_rate()), 0.05))
        self._budget.take(_rate(), _burst())
        self._held = None
        await self._tell_current()

    def close(self) -> None:
        """The socket closed: nothing held is told (its close is)."""
        if self._held is not None:
            self._held.cancel()
            self._held = None


def _rate() -> float:
    return limits.presence_announces_per_second()


def _burst() -> int:
    return limits.presence_announce_burst()
