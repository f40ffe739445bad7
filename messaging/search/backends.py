"""The two full-text engines behind ``selectors.search``, chosen once by
the database's vendor (``backend()``): PostgreSQL's text search over
``message_search.vector`` (a GIN index) and SQLite's FTS5 table
``message_search_fts`` (the embedded default).

Both take the same ``ParsedQuery`` and answer the same way:

* ``page``: the matching rows of a queryset of ``SearchDocument`` (already
  narrowed by membership and operators), best first (rank, then newest),
  as ``(document id, message id, rank)``; a higher rank is better.
* ``excluding``: the queryset without rows matching any excluded word or
  phrase (the query has no positive text).
* ``snippets``: for some rows, their text HTML-escaped with
  ``<mark>…</mark>`` around the matches.

User input is never query syntax: PostgreSQL receives each word and phrase
as a ``plainto_tsquery``/``phraseto_tsquery`` operand; FTS5 receives each
as a double-quoted string. Highlighting marks matches with two private-use
characters (which indexing strips from the text), escapes the whole
headline, then turns the markers into ``<mark>`` tags, so nothing from a
message reaches the page unescaped.
"""

import functools
import string
from collections.abc import Iterable
from typing import Protocol

from django.contrib.postgres.search import SearchHeadline, SearchQuery, SearchRank
from django.core.exceptions import EmptyResultSet
from django.db import connection
from django.db.models import BigIntegerField, F, Func, QuerySet, Value
from django.db.models.expressions import RawSQL
from django.utils.html import escape

from messaging import limits
from messaging.search.models import SearchDocument
from messaging.search.query import ParsedQuery

# Matches are wrapped in these in the engine's output; indexing removes
# them from the text, so any in a headline are the engine's.
MARK_START = "\ue000"
MARK_STOP = "\ue001"
ELLIPSIS = "…"
# PostgreSQL's parser reads "<…>" as an HTML tag (and drops it with the
# words inside), "a.txt" as a file name, "x-y" as one more word: chat text
# is not HTML, and the query side cuts words at punctuation (query.py) as
# FTS5 does. So the vector and the headline see ASCII punctuation as
# private-use stand-ins (separators to the parser), and the headline gets
# the real characters back before it is escaped.
_PUNCTUATION = string.punctuation
_STAND_INS = "".join(chr(0xE010 + n) for n in range(len(_PUNCTUATION)))
PARSER_SAFE = str.maketrans(_PUNCTUATION, _STAND_INS)
_PARSER_SAFE_BACK = str.maketrans(_STAND_INS, _PUNCTUATION)
# Characters a message's indexed text never holds (indexing drops them).
RESERVED = MARK_START + MARK_STOP + _STAND_INS
# Without positive text a snippet is the start of the text.
PLAIN_SNIPPET_CHARS = 200

Row = tuple[int, object, float]


def marked_html(headline: str) -> str:
    """``headline`` (text with the engine's markers) HTML-escaped, the
    markers turned into ``<mark>`` and ``</mark>``."""
    headline = headline.translate(_PARSER_SAFE_BACK)
    return escape(headline).replace(MARK_START, "<mark>").replace(MARK_STOP, "</mark>")


def plain_snippet(text: str) -> str:
    """The start of ``text``, escaped, for results of a query without text."""
    text = " ".join(text.split())
    if len(text) > PLAIN_SNIPPET_CHARS:
        text = text[:PLAIN_SNIPPET_CHARS].rstrip() + ELLIPSIS
    return escape(text)


class Backend(Protocol):
    def page(
        self,
        documents: QuerySet[SearchDocument],
        parsed: ParsedQuery,
        *,
        limit: int,
        offset: int,
        newest_first: bool = False,
    ) -> list[Row]: ...

    def matches_more_than(
        self, documents: QuerySet[SearchDocument], parsed: ParsedQuery, count: int
    ) -> bool: ...

    def excluding(
        self, documents: QuerySet[SearchDocument], excluded: Iterable[str]
    ) -> QuerySet[SearchDocument]: ...

    def snippets(self, ids: list[int], parsed: ParsedQuery) -> dict[int, str]: ...


# --- PostgreSQL -----------------------------------------------------------------


class PostgresBackend:
    """``vector @@ query`` with ``ts_rank`` and ``ts_headline``."""

    def _operand(self, text: str, *, phrase: bool) -> SearchQuery:
        return SearchQuery(
            text, config=limits.search_config(), search_type="phrase" if phrase else "plain"
        )

    def _positive(self, parsed: ParsedQuery) -> SearchQuery:
        operands = [self._operand(t, phrase=False) for t in parsed.terms]
        operands += [self._operand(p, phrase=True) for p in parsed.phrases]
        query = operands[0]
        for operand in operands[1:]:
            query = query & operand
        return query

    def _query(self, parsed: ParsedQuery) -> SearchQuery:
        query = self._positive(parsed)
        for excluded in parsed.excluded:
            query = query & ~self._operand(excluded, phrase=" " in excluded)
        return query

    def page(
        self,
        documents: QuerySet[SearchDocument],
        parsed: ParsedQuery,
        *,
        limit: int,
        offset: int,
        newest_first: bool = False,
    ) -> list[Row]:
        query = self._query(parsed)
        # Ranked by what is sought (the excluded words only filter): cover
        # density counts every occurrence and favours words close together;
        # normalization 1 divides by the log of the length, as bm25 weighs
        # length on SQLite.
        rank = SearchRank(
            F("vector"), self._positive(parsed), normalization=Value(1), cover_density=True
        )
        order = ("-sent_at", "-id") if newest_first else ("-rank", "-sent_at", "-id")
        rows = (
            documents.filter(vector=query)
            .annotate(rank=rank)
            .order_by(*order)
            .values_list("id", "message_id", "rank")[offset : offset + limit]
        )
        return [(pk, message_id, float(rank)) for pk, message_id, rank in rows]

    def matches_more_than(
        self, documents: QuerySet[SearchDocument], parsed: ParsedQuery, count: int
    ) -> bool:
        return documents.filter(vector=self._query(parsed))[count : count + 1].exists()

    def excluding(
        self, documents: QuerySet[SearchDocument], excluded: Iterable[str]
    ) -> QuerySet[SearchDocument]:
        for text in excluded:
            documents = documents.exclude(vector=self._operand(text, phrase=" " in text))
        return documents

    def snippets(self, ids: list[int], parsed: ParsedQuery) -> dict[int, str]:
        headline = SearchHeadline(
            Func(F("text"), Value(_PUNCTUATION), Value(_STAND_INS), function="translate"),
            self._positive(parsed),
            config=limits.search_config(),
            start_sel=MARK_START,
            stop_sel=MARK_STOP,
            max_words=30,
            min_words=12,
        )
        rows = SearchDocument.objects.filter(pk__in=ids).annotate(headline=headline)
        return {pk: marked_html(text) for pk, text in rows.values_list("pk", "headline")}


# --- SQLite FTS5 ------------------------------------------------------------------


def fts5_string(text: str) -> str:
    """``text`` as an FTS5 string: a phrase of its words, never syntax."""
    return '"' + text.replace('"', '""') + '"'


class SQLiteBackend:
    """``message_search_fts MATCH …`` joined to ``message_search`` by rowid,
    ranked by ``bm25`` (negated: FTS5's best is its lowest)."""

    table = "message_search_fts"

    def _positive(self, parsed: ParsedQuery) -> str:
        return " AND ".join(fts5_string(t) for t in (*parsed.terms, *parsed.phrases))

    def _expression(self, parsed: ParsedQuery) -> str:
        expression = f"({self._positive(parsed)})"
        for excluded in parsed.excluded:
            expression += f" NOT {fts5_string(excluded)}"
        return expression

    def _matching(self, documents: QuerySet[SearchDocument], parsed: ParsedQuery, columns: str):
        """``SELECT columns FROM`` the matching rows of ``documents`` (the
        statement's tail and its parameters), or None when ``documents``
        cannot match anything."""
        try:
            allowed_sql, allowed_params = documents.values("id").query.sql_with_params()
        except EmptyResultSet:
            return None  # an operator that named nobody (``sender IN ()``)
        sql = (
            f"SELECT {columns}"  # noqa: S608 - names are constants
            f" FROM {self.table} JOIN message_search d ON d.id = {self.table}.rowid"
            f" WHERE {self.table} MATCH %s AND d.id IN ({allowed_sql})"
        )
        return sql, [self._expression(parsed), *allowed_params]

    def matches_more_than(
        self, documents: QuerySet[SearchDocument], parsed: ParsedQuery, count: int
    ) -> bool:
        matching = self._matching(documents, parsed, "1")
        if matching is None:
            return False
        sql, params = matching
        with connection.cursor() as cursor:
            cursor.execute(f"{sql} LIMIT 1 OFFSET %s", [*params, count])
            return cursor.fetchone() is not None

    def page(
        self,
        documents: QuerySet[SearchDocument],
        parsed: ParsedQuery,
        *,
        limit: int,
        offset: int,
        newest_first: bool = False,
    ) -> list[Row]:
        matching = self._matching(
            documents, parsed, f"d.id, d.message_id, -bm25({self.table}) AS rank"
        )
        if matching is None:
            return []
        sql, params = matching
        order = (
            "d.sent_at DESC, d.id DESC" if newest_first else "rank DESC, d.sent_at DESC, d.id DESC"
        )
        with connection.cursor() as cursor:
            cursor.execute(f"{sql} ORDER BY {order} LIMIT %s OFFSET %s", [*params, limit, offset])
            fetched = cursor.fetchall()
        # A raw cursor gives the UUID as SQLite stores it (hex text).
        message_id = SearchDocument._meta.get_field("message")
        return [(pk, message_id.to_python(value), float(rank)) for pk, value, rank in fetched]

    def excluding(
        self, documents: QuerySet[SearchDocument], excluded: Iterable[str]
    ) -> QuerySet[SearchDocument]:
        expression = " OR ".join(fts5_string(text) for text in excluded)
        if not expression:
            return documents
        matching = RawSQL(  # noqa: S611 - the expression is a parameter
            f"SELECT rowid FROM {self.table} WHERE {self.table} MATCH %s",  # noqa: S608 - constants
            [expression],
            output_field=BigIntegerField(),
        )
        return documents.exclude(id__in=matching)

    def snippets(self, ids: list[int], parsed: ParsedQuery) -> dict[int, str]:
        if not ids:
            return {}
        placeholders = ", ".join(["%s"] * len(ids))
        sql = (
            f"SELECT rowid, snippet({self.table}, 0, %s, %s, %s, 24)"  # noqa: S608 - constants
            f" FROM {self.table} WHERE {self.table} MATCH %s AND rowid IN ({placeholders})"
        )
        params: list[str | int] = [MARK_START, MARK_STOP, ELLIPSIS, self._positive(parsed), *ids]
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return {pk: marked_html(text) for pk, text in cursor.fetchall()}


@functools.cache
def _backend_for(vendor: str) -> Backend:
    if vendor == "postgresql":
        return PostgresBackend()
    if vendor == "sqlite":
        return SQLiteBackend()
    raise NotImplementedError(f"Search has no backend for the {vendor} database.")


def backend() -> Backend:
    """The engine of the default database, chosen once per vendor."""
    return _backend_for(connection.vendor)
