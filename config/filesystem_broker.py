"""kombu's filesystem transport (the embedded profile's broker, no server)
with message files that are never read half-written.

kombu writes a message file in place: it creates ``<name>.<queue>.msg``,
locks it and writes. Its reader lists the folder and moves away any file
of its queue without asking for that lock, so a message it finds between
the create and the write is empty, and the worker stops on "Unrecoverable
error: JSONDecodeError" (kombu issue #1551), with ``make run`` after it.
Here a message is written under a name the reader skips (``.partial``
after ``.msg``) and renamed to its own once whole: a rename within a
folder is atomic. A file that is still unreadable (cut short by a crash,
or written by another kombu) is logged and skipped, not fatal.
"""

import logging
import os
import uuid
from time import monotonic

from kombu.exceptions import ChannelError
from kombu.transport import filesystem
from kombu.utils.encoding import str_to_bytes
from kombu.utils.json import dumps

logger = logging.getLogger(__name__)


class Channel(filesystem.Channel):
    # kombu's filesystem Channel names these arguments unlike its base class.
    def _put(self, queue, payload, **kwargs):  # type: ignore[override]
        """Put ``payload`` onto ``queue``: written whole, then named."""
        name = f"{round(monotonic() * 1000)}_{uuid.uuid4()}.{queue}.msg"
        final = os.path.join(self.data_folder_out, name)
        partial = f"{final}.partial"
        try:
            with open(partial, "wb", buffering=0) as file:
                file.write(str_to_bytes(dumps(payload)))
            os.replace(partial, final)
        except OSError as exc:
            raise ChannelError(f"Cannot add file {final!r} to directory") from exc

    def _get(self, queue, timeout=None):
        """The next message of ``queue``; a file that is not a message is
        logged and passed over (kombu has removed it already)."""
        while True:
            try:
                return super()._get(queue)
            except ValueError as exc:  # json.JSONDecodeError
                logger.warning("Skipped an unreadable message file in queue %s: %s", queue, exc)


class Transport(filesystem.Transport):
    Channel = Channel
