"""Live delivery in seq order, per conversation, per process.

Commits finish, and publish, in any order: two members sending at once
through two processes make every socket see 1, 3, 2. The hub
(``messaging.realtime.hub``) offers every event of a conversation group to
``LiveOrder``, which releases them to the hub's fan-out so that each
conversation's ``message.new`` events leave in strictly increasing seq
order, each once.

Interface (the hub depends on nothing else):

- ``LiveOrder(release)``: ``release(event)`` is the hub's synchronous
  fan-out of one layer message (``{"type", "frame", "conversation",
  "seq"?, ...}``) to the local sockets of its conversation.
- ``offer(event)``: an event of a conversation group, as the channel
  layer delivered it. Released now, or later in order.
- ``forget(conversation)``: no local socket is in that conversation any
  more; drop what is kept for it.
- ``close()``: stop timers and pending fills (the process is ending).

This first version releases every event at once, in arrival order.
"""

from collections.abc import Callable


class LiveOrder:
    def __init__(self, release: Callable[[dict], None]) -> None:
        self._release = release

    def offer(self, event: dict) -> None:
        self._release(event)

    def forget(self, conversation: str) -> None:
        pass

    async def close(self) -> None:
        pass
