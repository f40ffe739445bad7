"""Full-text search over the messages a person may read.

One selector (``selectors.search``) answers every search: it filters by
membership first, then hands the text part of the query to the backend
chosen once for the database (``backends``): PostgreSQL full-text search on
a stored ``tsvector`` with a GIN index, or SQLite's FTS5 on the embedded
default. ``query`` parses what people type (operators, phrases, negation)
into a ``ParsedQuery`` both backends read; ``services.indexing`` keeps the
``message_search`` rows current on send, edit, delete and when a file's
text is extracted.
"""
