"""A cursor for the few statements a server runs all the time (a send's):
bound by PostgreSQL, not by psycopg, and prepared once per connection.

Django's cursors bind on the client (psycopg's ``ClientCursor``): every
value is quoted into the SQL text, and PostgreSQL parses and plans the
whole text again for each call. For the send's one statement (a claim,
four data-modifying CTEs, thirty-odd values) that quoting, parsing and
planning is most of what the statement costs. ``prepared_cursor`` gives a
Django cursor over psycopg's server-binding ``RawCursor`` (PostgreSQL's
``$1`` placeholders; Django's ``%s`` converted once per text, ``numbered``)
that asks for every statement to be prepared: the first call on a
connection prepares it, later ones send only the values. psycopg keeps the
connection's prepared statements (``prepared_max``) and knows when one was
lost.

It goes through Django's cursor wrapper, so the statement deadline
(``config.database``), query logging and ``CaptureQueriesContext`` see it
as any other statement. Only PostgreSQL has it; callers check the vendor.
"""

import functools
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, cast

import psycopg
from django.db import connection

_PLACEHOLDER = re.compile(r"%([%s])")


@functools.lru_cache(maxsize=64)
def numbered(query: str) -> str:
    """Django's SQL with PostgreSQL's own placeholders: each ``%s`` in turn
    ``$1``, ``$2`` …, and ``%%`` a ``%``. psycopg converts a query's
    placeholders on every call and caches the result only for texts under
    4 KiB; the send's statement is longer, so it is converted here once."""
    count = 0

    def placeholder(found: re.Match) -> str:
        nonlocal count
        if found.group(1) == "%":
            return "%"
        count += 1
        return f"${count}"

    return _PLACEHOLDER.sub(placeholder, query)


class _PreparingCursor(psycopg.RawCursor):
    def execute(self, query, params=None, *, prepare=None, binary=None):
        return super().execute(numbered(query), params, prepare=True, binary=binary)


@contextmanager
def prepared_cursor() -> Iterator:
    """A cursor of the default connection whose statements are prepared."""
    connection.validate_thread_sharing()
    connection.ensure_connection()
    # Django's wrappers take any DB-API cursor (their stubs say CursorWrapper).
    raw = cast(Any, _PreparingCursor(connection.connection))
    logged = connection.queries_logged
    wrapped = connection.make_debug_cursor(raw) if logged else connection.make_cursor(raw)
    with wrapped as cursor:
        yield cursor
