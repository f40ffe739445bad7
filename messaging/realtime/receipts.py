"""Read and delivered receipts of one socket (``read``, ``delivered`` and
``thread.read``): the socket's budget of receipt frames, and the receipts
it holds back once the budget is spent (docs/protocol.md, "Receipts").

Each receipt frame costs a write transaction (the member's row locked, the
cursor moved, its ``message_status`` rows, an audit row for a read) and may
send a ``receipt`` to every member, so a socket may send
``RECEIPT_FRAME_BURST`` of them at once, refilled at
``RECEIPT_FRAMES_PER_SECOND``. A receipt is idempotent and only its highest
``seq`` matters: one over the budget is not refused but held, the highest
``seq`` per conversation and kind, and applied when the budget has a unit
again (a later frame for the same conversation and kind joins it). The
client hears that it was held (``ok`` with ``"coalesced": true``). At most
``MAX_HELD_RECEIPTS`` conversation-and-kind pairs are held; a frame that
would hold one more is refused ``rate_limited``. Only a conversation the
socket is in is held: another is refused ``not_found`` at once.

Held receipts are applied while the socket lives; a socket that closes
drops what it still holds (its client sends its receipts again after it
reconnects and resumes). A held receipt refused when applied (the person
left the conversation meanwhile) is dropped without an answer, as the
frame's ``ok`` was given already.

Time is ``messaging.realtime.clock``'s: tests move it with a ``FakeClock``.
"""

import asyncio
import logging
from collections.abc import Awaitable, Callable
from uuid import UUID

from django.utils.translation import gettext as _

from messaging import limits
from messaging.errors import MessagingError, NotFound, RateLimited
from messaging.realtime import clock
from messaging.realtime.bucket import SocketBucket

logger = logging.getLogger(__name__)

# Conversation-and-kind pairs one socket may hold back at once.
MAX_HELD_RECEIPTS = 100

# Applies one receipt: (conversation or thread root, kind, seq); kind is
# "read", "delivered" or "thread.read".
Apply = Callable[[UUID, str, int], Awaitable[None]]


class Receipts:
    """The receipt budget of one socket, and what it holds back."""

    def __init__(self, apply: Apply):
        self._apply = apply
        self._budget = SocketBucket()
        self._held: dict[tuple[UUID, str], int] = {}  # in the order first held
        self._flush: asyncio.Task | None = None

    async def receive(
        self, conversation: UUID, kind: str, seq: int, *, may_hold: bool = True
    ) -> bool:
        """A ``read`` or ``delivered`` frame: applied now (True) or held
        (False); RateLimited when it can be neither. ``may_hold`` False (the
        socket is in no such conversation): one that cannot be applied now
        is refused ``not_found``, as applying it would be, not held and
        answered ``ok``."""
        key = (conversation, kind)
        if key not in self._held and self._budget.take(
            limits.receipt_frames_per_second(), limits.receipt_frame_burst()
        ):
            await self._apply(conversation, kind, seq)
            return True
        if key not in self._held and not may_hold:
            raise NotFound(_("No such conversation."))
        if key not in self._held and len(self._held) >= MAX_HELD_RECEIPTS:
            rate = limits.receipt_frames_per_second()
            raise RateLimited(
                _(
                    "Too many receipts at once: at most %(count)s conversations "
                    "are held back; wait %(seconds)ss."
                )
                % {"count": MAX_HELD_RECEIPTS, "seconds": f"{1 / rate:g}"},
                retry_after=round(1 / rate, 3),
            )
        self._held[key] = max(seq, self._held.get(key, seq))
        if self._flush is None or self._flush.done():
            self._flush = asyncio.create_task(self._apply_held())
        return False

    @property
    def held(self) -> int:
        return len(self._held)

    async def _apply_held(self) -> None:
        """Apply the held receipts, oldest first, one per unit of budget."""
        rate = limits.receipt_frames_per_second()
        while self._held:
            if not self._budget.take(rate, limits.receipt_frame_burst()):
                await clock.sleep(self._budget.seconds_to_next(rate))
                continue
            key = next(iter(self._held))
            seq = self._held.pop(key)
            try:
                await self._apply(key[0], key[1], seq)
            except MessagingError as error:
                logger.debug("A held %s receipt was not applied: %s", key[1], error.code)
            except Exception:
                # Logged, and the rest still applied: this task has no one to answer.
                logger.exception("A held %s receipt could not be applied", key[1])

    def discard(self) -> None:
        """The socket closed: drop what is held."""
        self._held.clear()
        if self._flush is not None:
            self._flush.cancel()
            self._flush = None
