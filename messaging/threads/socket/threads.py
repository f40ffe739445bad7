"""Socket commands for threads: reading a thread's history and marking a
thread read. Sending a reply is ``message.send`` with ``parent_id``."""

COMMANDS: dict = {}
