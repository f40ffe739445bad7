"""The conversation tools beyond a flat stream: replies and threads,
reactions, pins and saved messages, Markdown rendering and link previews.

A thread reply is an ordinary message (``Message.parent`` names the thread's
root): it takes the conversation's next seq, is idempotent, filtered, indexed
and audited like any send. This package keeps what is only about threads and
the other tools: their tables (``models``), writes (``services``), reads
(``selectors``), payload pieces (``payloads``), socket commands (``socket``)
and API views (``api``).
"""
