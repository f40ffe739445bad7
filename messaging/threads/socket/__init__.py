"""Socket commands of ``messaging.threads`` (docs/protocol.md). Each is an
``async (consumer, frame, echo)`` function, like ``ChatConsumer``'s own, and
the consumer's command table takes them all from ``COMMANDS``."""

from messaging.threads.socket import reactions, threads

COMMANDS = {**threads.COMMANDS, **reactions.COMMANDS}
