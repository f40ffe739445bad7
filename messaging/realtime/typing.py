"""Typing indicators of one socket: which conversations it has said it is
typing in, the throttle on repeating that, and the ``typing`` events.

A ``typing.start`` is relayed at most once per ``TYPING_MIN_INTERVAL_SECONDS``
per conversation; the event says it expires by itself after
``TYPING_TTL_SECONDS``. A stop (or the socket closing) is relayed once, and
only after a start.
"""

from accounts.models import User
from messaging import events, limits
from messaging.realtime import clock


class Typing:
    """The typing state of one socket of ``user``."""

    def __init__(self, user: User):
        self.user = user
        self._since: dict[str, float] = {}  # conversation id -> when last announced

    def throttled(self, conversation_id: str) -> bool:
        """Whether a start in ``conversation_id`` now would repeat one still fresh."""
        last = self._since.get(conversation_id)
        return last is not None and (
            clock.monotonic() - last < limits.typing_min_interval_seconds()
        )

    async def start(self, conversation_id: str) -> None:
        """Announce typing in ``conversation_id`` (the caller checked membership)."""
        self._since[conversation_id] = clock.monotonic()
        await self._publish(conversation_id, is_typing=True)

    async def stop(self, conversation_id: str) -> None:
        """Announce the end of typing in ``conversation_id``, if it was announced."""
        if self._since.pop(conversation_id, None) is not None:
            await self._publish(conversation_id, is_typing=False)

    async def stop_all(self) -> None:
        """Stop every typing line of this socket (it is closing)."""
        for conversation_id in list(self._since):
            await self.stop(conversation_id)

    def forget(self, conversation_id: str) -> None:
        """Drop ``conversation_id`` without an event (the socket left it)."""
        self._since.pop(conversation_id, None)

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
