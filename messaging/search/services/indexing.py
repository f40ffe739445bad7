"""Keeping the search table (``message_search``) in step with the messages.

A message has a row while it may be found: stored, not deleted, a person's
message (system notices are never indexed). The row's ``text`` is the
message's rendered text without markup (what readers see), its files'
names and the text extracted from its documents; on PostgreSQL its
``vector`` is ``to_tsvector(SEARCH_CONFIG, text)``, computed by the
database in the same statement that writes the row, and on SQLite the
FTS5 table follows through migration 0007's triggers. Callers run these
inside their own transaction (the send, the edit, the delete), so the
table changes exactly when the message does.
"""

import functools
import re
from collections.abc import Iterable
from dataclasses import dataclass
from uuid import UUID

from django.db import connection, transaction

from messaging import limits
from messaging.files.models import Attachment, AttachmentKind
from messaging.models import Message, MessageType
from messaging.search.backends import PARSER_SAFE, RESERVED
from messaging.search.models import SearchDocument
from messaging.threads import markdown

_LINK = re.compile(r"https?://\S", re.IGNORECASE)
# Highlighting markers and parser stand-ins never come from a message
# (backends.marked_html).
_RESERVED = str.maketrans("", "", RESERVED)


@dataclass(frozen=True)
class _Row:
    message_id: UUID
    conversation_id: UUID
    sender_id: UUID
    seq: int
    sent_at: object
    text: str
    has_file: bool
    has_image: bool
    has_link: bool


def is_searchable(message: Message) -> bool:
    """Whether ``message`` may have a row: stored, not deleted, not hidden
    by a moderator, not a system notice, not end-to-end encrypted (the
    server has no words of it, and its file names are not to be found)."""
    return (
        message.deleted_at is None
        and message.hidden_at is None
        and message.message_type not in _NEVER_INDEXED
        and message.sender_id is not None
    )


def searchable_text(message: Message) -> str:
    """The words of a message as readers see them: its rendered text
    without markup (``**word**`` is "word"), so matches and snippets agree
    with the page; the source when nothing was rendered."""
    return markdown.words_of(message)


def _row(message: Message, attachments: Iterable[Attachment]) -> _Row:
    attachments = list(attachments)
    parts = [searchable_text(message)]
    parts += [a.name for a in attachments]
    parts += [a.extracted_text for a in attachments if a.extracted_text]
    text = "\n".join(p for p in parts if p).translate(_RESERVED)
    return _Row(
        message_id=message.pk,
        conversation_id=message.conversation_id,
        sender_id=message.sender_id,  # type: ignore[arg-type]
        seq=message.seq,
        sent_at=message.sent_at,
        text=text,
        has_file=bool(attachments),
        has_image=any(a.kind == AttachmentKind.IMAGE for a in attachments),
        has_link=bool(_LINK.search(message.content)),
    )


# The row's columns in the statement's order (the first three are keys).
_COLUMNS = (
    "message",
    "conversation",
    "sender",
    "seq",
    "sent_at",
    "text",
    "has_file",
    "has_image",
    "has_link",
)


@functools.cache
def _upsert_sql(vendor: str) -> str:
    """INSERT … ON CONFLICT (message) DO UPDATE, on both databases; the
    vector is computed by PostgreSQL from the text parameter."""
    vector = "to_tsvector(CAST(%s AS regconfig), %s)" if vendor == "postgresql" else "NULL"
    names = [*(f"{name}_id" for name in _COLUMNS[:3]), *_COLUMNS[3:], "vector"]
    # Every column but the key: a rebuild refreshes all of a row.
    updates = ", ".join(f"{name} = excluded.{name}" for name in names[1:])
    placeholders = ", ".join(["%s"] * len(_COLUMNS))
    return (
        f"INSERT INTO {SearchDocument._meta.db_table} ({', '.join(names)})"  # noqa: S608 - constants
        f" VALUES ({placeholders}, {vector}) ON CONFLICT (message_id) DO UPDATE SET {updates}"
    )


def _params(row: _Row) -> list:
    values = (
        row.message_id,
        row.conversation_id,
        row.sender_id,
        row.seq,
        row.sent_at,
        row.text,
        row.has_file,
        row.has_image,
        row.has_link,
    )
    fields = [SearchDocument._meta.get_field(name) for name in _COLUMNS]
    params = [
        field.get_db_prep_save(value, connection=connection)  # type: ignore[union-attr]
        for field, value in zip(fields, values, strict=True)
    ]
    if connection.vendor == "postgresql":
        params += [limits.search_config(), row.text.translate(PARSER_SAFE)]
    return params


def _write(rows: list[_Row]) -> None:
    if not rows:
        return
    with connection.cursor() as cursor:
        cursor.executemany(_upsert_sql(connection.vendor), [_params(r) for r in rows])


def _attachments_of(message: Message) -> Iterable[Attachment]:
    # A text message has none: no query for it.
    return message.attachments.all() if message.message_type != MessageType.TEXT else []


def index_message(message: Message) -> None:
    """Insert or replace ``message``'s row (one statement), or remove it if
    the message may not be found any more. Reads the attachments from
    ``message.attachments`` (its prefetch cache when loaded)."""
    if not is_searchable(message):
        remove_message(message.pk)
        return
    _write([_row(message, _attachments_of(message))])


@functools.cache
def insert_from_sql(source: str, seq: str) -> str:
    """For ``services.store``'s one PostgreSQL statement: ``INSERT … SELECT
    … FROM {source}``, writing a new message's row with its seq read from
    ``{source}.{seq}`` (nothing when ``source`` has no row: the claim was
    refused). Its parameters are ``insert_from_params(message)``."""
    values = []
    for name in _COLUMNS:
        if name == "seq":
            values.append(f"{source}.{seq}")
        else:
            field = SearchDocument._meta.get_field(name)
            # Typed placeholders: INSERT … SELECT does not infer them.
            values.append(f"CAST(%s AS {field.cast_db_type(connection)})")  # type: ignore[union-attr]
    names = [*(f"{name}_id" for name in _COLUMNS[:3]), *_COLUMNS[3:], "vector"]
    return (
        f"INSERT INTO {SearchDocument._meta.db_table} ({', '.join(names)})"  # noqa: S608 - constants
        f" SELECT {', '.join(values)}, to_tsvector(CAST(%s AS regconfig), %s) FROM {source}"
    )


def insert_from_params(message: Message) -> list:
    """The parameters of ``insert_from_sql`` for ``message`` (a new,
    searchable message; its attachments, if any, in its prefetch cache)."""
    assert connection.vendor == "postgresql", "the one statement is PostgreSQL's"
    assert is_searchable(message), "only a searchable message has a row"
    params = _params(_row(message, _attachments_of(message)))
    del params[_COLUMNS.index("seq")]  # read from the statement's stored row
    return params


def remove_message(message_id: UUID) -> None:
    """Remove a message's row (deleted, or hidden by moderation); nothing if none."""
    SearchDocument.objects.filter(message_id=message_id).delete()


def reindex_attachments_of(message_id: UUID) -> None:
    """Index a message again once one of its files' text was extracted.
    Nothing for a message that is gone, deleted or a system notice (its row
    is removed). Run it in a transaction: the message's row is locked while
    it is read, so an edit or a delete committing meanwhile is not undone
    by a row built from what it replaced."""
    message = (
        Message.objects.select_for_update(of=("self",))
        .filter(pk=message_id)
        .prefetch_related("attachments")
        .first()
    )
    if message is None:
        return
    index_message(message)


def rebuild(*, batch_size: int = 1000) -> int:
    """Rebuild the whole table from the messages: rows for every searchable
    message (their vectors recomputed, with the current ``SEARCH_CONFIG``),
    none for the others; on SQLite the FTS5 index is rebuilt from the table.
    Runs in batches, each its own transaction (its messages locked while
    their rows are written), so the site keeps working. Returns how many
    messages are indexed."""
    SearchDocument.objects.exclude(
        message__deleted_at__isnull=True,
        message__hidden_at__isnull=True,
        message__message_type__in=_searchable_types(),
    ).delete()
    indexed = 0
    last_id = None
    while True:
        batch = Message.objects.filter(
            deleted_at__isnull=True,
            hidden_at__isnull=True,
            message_type__in=_searchable_types(),
            sender__isnull=False,
        ).order_by("pk")
        if last_id is not None:
            batch = batch.filter(pk__gt=last_id)
        with transaction.atomic():
            # Locked while read and written: an edit or a delete waits, then
            # writes its own row (or removes it) after this batch's.
            messages = list(batch.select_for_update().prefetch_related("attachments")[:batch_size])
            _write([_row(m, m.attachments.all()) for m in messages])
        if not messages:
            break
        indexed += len(messages)
        last_id = messages[-1].pk
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute("INSERT INTO message_search_fts(message_search_fts) VALUES ('rebuild')")
    return indexed


_NEVER_INDEXED = (MessageType.SYSTEM, MessageType.ENCRYPTED)


def _searchable_types() -> list[str]:
    return [t for t in MessageType.values if t not in _NEVER_INDEXED]
