"""The assistant's typing line: while it works on an answer, the members
of the conversation see it typing, as they see a person (the ``typing``
frame, docs/protocol.md); a bot has no socket, so the service publishes
the frames itself."""

import threading
from types import TracebackType
from uuid import UUID

from accounts.models import User
from messaging import events, limits


class TypingShown:
    """A context manager: the start frame on entry, renewed before its
    ``expires_in`` runs out, and the stop frame on exit, however the block
    ends. A frame is a hint (the channel layer may drop it): ``expires_in``
    ends a line whose stop was lost."""

    def __init__(self, *, user: User, conversation_id: UUID):
        self.user = user
        self.conversation_id = conversation_id
        self._done = threading.Event()
        self._renewer: threading.Thread | None = None

    def __enter__(self) -> "TypingShown":
        self._publish(is_typing=True)
        self._renewer = threading.Thread(target=self._renew, name="assistant-typing", daemon=True)
        self._renewer.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._done.set()
        if self._renewer is not None:
            self._renewer.join()
        self._publish(is_typing=False)

    def _renew(self) -> None:
        every = max(1.0, limits.typing_ttl_seconds() / 2)
        while not self._done.wait(every):
            self._publish(is_typing=True)

    def _publish(self, *, is_typing: bool) -> None:
        events.publish(
            events.conversation_group(self.conversation_id),
            events.typing(
                conversation_id=self.conversation_id,
                user=self.user,
                is_typing=is_typing,
                expires_in=limits.typing_ttl_seconds(),
            ),
            user_id=str(self.user.pk),
        )
