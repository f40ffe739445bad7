"""A cursor for the few statements a server runs all the time (a send's):
bound by PostgreSQL, not by psycopg, and prepared once per connection.

Django's cursors bind on the client (psycopg's ``ClientCursor``): every
value is quoted into the SQL text, and PostgreSQL parses and plans the
whole text again for each call. For the send's one statement (a claim,
four data-modifying CTEs, thirty-odd values) that quoting, parsing and
planning is most of what the statement costs. ``prepared_cursor`` gives a
Django cursor over psycopg's server-binding ``Cursor`` that asks for every
statement to be prepared: the first call on a connection prepares it,
later ones send only the values. psycopg keeps the connection's prepared
statements (``prepared_max``) and knows when one was lost.

It goes through Django's cursor wrapper, so the statement deadline
(``config.database``), query logging and ``CaptureQueriesContext`` see it
as any other statement. Only PostgreSQL has it; callers check the vendor.
"""

from collections.abc import Iterator
from contextlib import contextmanager

from django.db import connection
from django.db.backends.postgresql.base import ServerBindingCursor


class _PreparingCursor(ServerBindingCursor):
    def execute(self, query, params=None, *, prepare=None, binary=None):  # type: ignore[override]
        return super().execute(query, params, prepare=True, binary=binary)


@contextmanager
def prepared_cursor() -> Iterator:
    """A cursor of the default connection whose statements are prepared."""
    connection.validate_thread_sharing()
    connection.ensure_connection()
    raw = _PreparingCursor(connection.connection)
    logged = connection.queries_logged
    wrapped = connection.make_debug_cursor(raw) if logged else connection.make_cursor(raw)
    with wrapped as cursor:
        yield cursor
