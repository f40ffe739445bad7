"""Emptying the PostgreSQL test database after a transactional test, quickly.

Every test with a server process, a worker or a browser runs outside a
transaction (``transactional_db``), and Django then empties the database with
one ``TRUNCATE`` of all ~60 tables. PostgreSQL truncates by giving each
table, index and TOAST table a new file: about a second per test on this
machine, whether the tables held anything or not. Most of them hold nothing,
and the rest a handful of rows, which ``DELETE`` removes in milliseconds.

So the test run's flush empties exactly the tables that have rows: ``DELETE``
for the small ones (Django's foreign keys are ``DEFERRABLE INITIALLY
DEFERRED``, so the order does not matter within the flush's transaction),
``TRUNCATE`` for a large one and for one whose triggers refuse ``DELETE``
(the append-only audit log). Content types and permissions stay: Django
would delete them and have ``post_migrate`` insert the same rows again (no
test makes others), which costs more than all the rest; ``post_migrate``
still runs and adds any missing. The database ends as after Django's flush:
every other table empty, sequences not reset. A flush that resets sequences
or cascades keeps Django's own statements.
"""

import pytest

# What post_migrate puts back after every flush, kept instead.
KEPT = {"django_content_type", "auth_permission"}

# Past this many rows one TRUNCATE is cheaper than deleting them one by one.
DELETE_AT_MOST = 1000

_ROW_DELETE_TRIGGERS = """
SELECT DISTINCT c.relname
FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
WHERE NOT t.tgisinternal
  AND (t.tgtype & 1) = 1  -- FOR EACH ROW
  AND (t.tgtype & 8) = 8  -- ON DELETE
"""


def _rows_up_to_limit(cursor, quote, tables: list[str]) -> dict[str, int]:
    """How many rows each table holds, counted up to ``DELETE_AT_MOST + 1``
    (one statement for all of them)."""
    counts = " UNION ALL ".join(
        f"SELECT %s, (SELECT count(*) FROM (SELECT 1 FROM {quote(table)} "
        f"LIMIT {DELETE_AT_MOST + 1}) AS some_rows)"
        for table in tables
    )
    cursor.execute(counts, tables)
    return dict(cursor.fetchall())


def flush_statements(connection, style, tables, original, **options) -> list[str]:
    if options.get("reset_sequences") or options.get("allow_cascade") or not tables:
        return original(style, tables, **options)
    quote = connection.ops.quote_name
    tables = [table for table in tables if table not in KEPT]
    with connection.cursor() as cursor:
        rows = _rows_up_to_limit(cursor, quote, tables)
        cursor.execute(_ROW_DELETE_TRIGGERS)
        refusing_delete = {name for (name,) in cursor.fetchall()}
    filled = [table for table in tables if rows[table]]
    truncated = [t for t in filled if t in refusing_delete or rows[t] > DELETE_AT_MOST]
    deleted = [t for t in filled if t not in truncated]
    statements = []
    if truncated:
        # CASCADE: a table pointing at a truncated one is emptied with it
        # (it is being emptied anyway). First, before any DELETE queues
        # the deferred foreign-key checks TRUNCATE refuses to run under.
        names = ", ".join(quote(table) for table in truncated)
        statements.append(f"TRUNCATE {names} CASCADE;")
    statements += [f"DELETE FROM {quote(table)};" for table in deleted]
    return statements


@pytest.fixture(scope="session", autouse=True)
def _flush_only_filled_tables():
    from django.db.backends.postgresql.operations import DatabaseOperations

    original = DatabaseOperations.sql_flush

    def sql_flush(self, style, tables, **options):
        return flush_statements(
            self.connection,
            style,
            tables,
            lambda *args, **kw: original(self, *args, **kw),
            **options,
        )

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(DatabaseOperations, "sql_flush", sql_flush)
        yield
