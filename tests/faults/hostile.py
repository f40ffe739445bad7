"""Helpers for hostile-input tests against real server processes: what
docs/protocol.md promises, read from the document itself, and the check
that a server logged no unhandled exception."""

import functools
import re
from pathlib import Path

PROTOCOL = Path(__file__).resolve().parents[2] / "docs" / "protocol.md"

# What an unhandled exception leaves in a server's log: Python's traceback
# header, and the words each ASGI server (and Parley's own ``internal``
# answer) logs one with.
TRACEBACK_SIGNS = (
    "Traceback (most recent call last)",
    "Exception in ASGI application",
    "A frame could not be handled",
    "Task exception was never retrieved",
    "Unhandled exception",
)


def server_log(server) -> str:
    """The whole log of a ``tests.servers.ServerProcess`` so far (its
    ``log()`` is the tail only)."""
    if not server._log.closed:
        server._log.flush()
    return server.log_path.read_text(errors="replace")


def assert_no_tracebacks(server) -> None:
    """The server logged no unhandled exception: no traceback and none of
    the lines servers and Parley write with one."""
    log = server_log(server)
    found = [sign for sign in TRACEBACK_SIGNS if sign in log]
    if found:
        start = min(log.index(sign) for sign in found)
        raise AssertionError(
            f"the server logged {found}:\n{log[max(0, start - 500) : start + 4000]}"
        )
    # A command that failed unexpectedly is logged as "Command <type> failed".
    assert not re.search(r"^.*Command \S+ failed", log, re.MULTILINE), log[-4000:]


def _section(text: str, heading: str) -> str:
    """The text under ``heading`` (a Markdown heading line) up to the next
    heading of the same or a higher level."""
    level = len(heading) - len(heading.lstrip("#"))
    start = text.index(heading + "\n") + len(heading) + 1
    following = re.compile(rf"^#{{1,{level}}} ", re.MULTILINE).search(text, start)
    return text[start : following.start() if following else len(text)]


def _first_column(section: str, header: str) -> list[str]:
    """The back-quoted names in the first column of the table whose header
    row starts with ``| header |``; a cell may name several (``a``, ``b``)."""
    names: list[str] = []
    in_table = False
    for line in section.splitlines():
        if line.startswith(f"| {header} |"):
            in_table = True
            continue
        if in_table:
            if not line.startswith("|"):
                break
            cell = line.split("|")[1]
            names += re.findall(r"`([^`]+)`", cell)
    assert names, f"no table headed {header!r}"
    return names


def _json_frame_types(text: str) -> set[str]:
    """The ``type`` of every JSON frame written out in ``text``'s examples."""
    return set(re.findall(r'\{"type": "([a-z_.]+)"', text))


@functools.cache
def documented() -> dict[str, frozenset[str]]:
    """What docs/protocol.md lists, parsed from its tables:

    - ``commands``: the client → server command types ("Client → server
      commands");
    - ``error_codes``: every ``error`` code (the "Errors" table and the
      tables of codes elsewhere, "Files");
    - ``server_types``: every frame type the server sends: the events table
      ("Server → client events"), the replies the commands table names, and
      the frames the document shows being sent (``hello``, ``error``, …).
    """
    text = PROTOCOL.read_text()
    commands = _first_column(_section(text, "## Client → server commands"), "type")
    errors = _first_column(_section(text, "## Errors"), "code")
    files_errors = _first_column(
        _section(text, "### Files (`attachments`, `attachment.updated`)"), "code"
    )
    events = _first_column(_section(text, "## Server → client events"), "type")
    # The reply column of the commands table: `ack`, `ok`, `history`, ...
    replies: list[str] = []
    for line in _section(text, "## Client → server commands").splitlines():
        if line.startswith("| `"):
            replies += re.findall(r"`([a-z_.]+)`", line.split("|")[3])
    client_types = set(commands)
    shown = {t for t in _json_frame_types(text) if t not in client_types}
    return {
        "commands": frozenset(commands),
        "error_codes": frozenset(errors + files_errors),
        "server_types": frozenset(
            {*events, *shown, *(r for r in replies if r not in client_types)}
        ),
    }
