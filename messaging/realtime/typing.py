"""Typing indicators of one socket: what it has told the members of each
conversation, the throttle on what they are told, the socket's budget of
typing frames, and the ``typing`` events.

What members receive is throttled, whatever frames the client sends
(docs/protocol.md, "Typing"):

* Per conversation, this socket's ``typing`` events go out at least
  ``TYPING_MIN_INTERVAL_SECONDS`` apart. A change within that time of the
  last event (a stop after a start, a start after a stop) is held until the
  interval has passed, and then only the latest state goes out: a start, or
  a stop if members were last told of a start. Changes in between are never
  sent.
* A start while members were last told of a start less than an interval ago
  is not repeated (the event still stands, for ``TYPING_TTL_SECONDS``).
* When the socket closes, each conversation where members were last told of
  a start gets its stop at once.

The frames are budgeted too: ``TYPING_FRAME_BURST`` at once, refilled at
``TYPING_FRAMES_PER_SECOND``. A ``typing.start`` with the budget spent is
ignored (the first of a run raises ``RateLimited``, so the client hears once);
a ``typing.stop`` is never ignored, since it only ever ends a typing line.

Time is ``messaging.realtime.clock``'s: tests move it with a ``FakeClock``.
"""

import asyncio
from dataclasses import dataclass

from django.utils.translation import gettext as _

from accounts.models import User
from messaging import events, limits
from messaging.errors import RateLimited
from messaging.realtime import clock
from messaging.realtime.bucket import SocketBucket


@dataclass
class _Line:
    """This socket's typing in one conversation."""

    shown: bool = False  # what the members were last told: typing or not
    wanted: bool = False  # what the client's latest admitted frame said
    sent_at: float | None = None  # when the last event went out (monotonic)
    flush: asyncio.Task | None = None  # the held change, waiting for the interval


class Typing:
    """The typing state of one socket of ``user``."""

    def __init__(self, user: User):
        self.user = user
        self._lines: dict[str, _Line] = {}  # conversation id -> its line
        self._budget = SocketBucket()  # the frame budget
        self._refusing = False  # a start was refused since the last admitted frame

    # --- The frame budget ------------------------------------------------------

    def admit(self, *, start: bool) -> bool:
        """Spend one token of this socket's typing budget on a frame.

        A stop is always admitted (spending a token if one is left). A start
        with none left is not: False, except for the first such start since
        the last admitted frame, which raises ``RateLimited``."""
        rate = limits.typing_frames_per_second()
        burst = limits.typing_frame_burst()
        if self._budget.take(rate, burst):
            self._refusing = False
            return True
        if not start:
            return True
        if self._refusing:
            return False
        self._refusing = True
        raise RateLimited(
            _(
                "At most %(burst)s typing frames at once and %(rate)s a second; "
                "typing.start is ignored until then."
            )
            % {"burst": burst, "rate": f"{rate:g}"},
            retry_after=round(self._budget.seconds_to_next(rate), 3),
        )

    # --- Frames --------------------------------------------------------------------

    def start_matters(self, conversation_id: str) -> bool:
        """Whether a start in ``conversation_id`` now could change what
        members hear (else the caller need not check membership for it)."""
        line = self._lines.get(conversation_id)
        if line is None:
            return True
        if line.flush is not None:
            return not line.wanted
        return not (line.shown and self._wait(line) > 0)

    async def start(self, conversation_id: str) -> None:
        """The client is typing in ``conversation_id`` (the caller checked
        membership)."""
        line = self._lines.setdefault(conversation_id, _Line())
        line.wanted = True
        await self._settle(conversation_id, line)

    async def stop(self, conversation_id: str) -> None:
        """The client stopped typing in ``conversation_id``."""
        line = self._lines.get(conversation_id)
        if line is not None:
            line.wanted = False
            await self._settle(conversation_id, line)

    async def stop_all(self) -> None:
        """The socket is closing: every conversation whose members were last
        told of a start hears the stop now, throttle or not."""
        lines, self._lines = self._lines, {}
        for conversation_id, line in lines.items():
            self._cancel(line)
            if line.shown:
                await self._publish(conversation_id, is_typing=False)

    def forget(self, conversation_id: str) -> None:
        """Drop ``conversation_id`` without an event (the socket left it)."""
        line = self._lines.pop(conversation_id, None)
        if line is not None:
            self._cancel(line)

    # --- What goes out -----------------------------------------------------------

    def _wait(self, line: _Line) -> float:
        """Seconds until the line may send its next event."""
        if line.sent_at is None:
            return 0.0
        return line.sent_at + limits.typing_min_interval_seconds() - clock.monotonic()

    async def _settle(self, conversation_id: str, line: _Line) -> None:
        if line.flush is not None:
            return  # the held change goes out with the latest state
        if not line.wanted and not line.shown:
            return  # nothing to stop
        wait = self._wait(line)
        if wait <= 0:
            await self._send(conversation_id, line)
        elif line.wanted and line.shown:
            return  # a renewal of a start still fresh
        else:
            line.flush = asyncio.create_task(self._send_later(conversation_id, line, wait))

    async def _send_later(self, conversation_id: str, line: _Line, wait: float) -> None:
        await clock.sleep(wait)
        line.flush = None
        if line.wanted or line.shown:
            await self._send(conversation_id, line)

    async def _send(self, conversation_id: str, line: _Line) -> None:
        line.shown = line.wanted
        line.sent_at = clock.monotonic()
        await self._publish(conversation_id, is_typing=line.wanted)

    @staticmethod
    def _cancel(line: _Line) -> None:
        if line.flush is not None:
            line.flush.cancel()
            line.flush = None

    async def _publish(self, conversation_id: str, *, is_typing: bool) -> None:
        await events.apublish(
            events.conversation_group(conversation_id),
            events.typing(
                conversation_id=conversation_id,
                user=self.user,
                is_typing=is_typing,
                expires_in=limits.typing_ttl_seconds(),
            ),
            # The typist's own sockets skip their own typing.
            user_id=str(self.user.pk),
        )
