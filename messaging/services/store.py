"""The one path that stores a message: a person's send (text, file, image)
and a system notice (someone was added or left) alike.

Storing claims the conversation's next seq with ``UPDATE … SET last_seq =
last_seq + 1 … RETURNING``, whose condition is a queryset (for a send,
``policy.postable_conversations(sender)``: the policy's own definition, so
membership, archive state and an active account are decided in the same
statement that locks the row). It then inserts the message under that seq,
moves the sender's cursors to it (writing is reading; no receipt, the
``message.new`` says as much), writes the audit row when asked, writes the
message's search row when asked (``search.services.indexing``: a send is
findable exactly when it is stored), and publishes ``message.new`` after
commit.

On PostgreSQL all of that is one statement (data-modifying CTEs), one round
trip; its INSERT writes every concrete field of ``Message``. Elsewhere
(SQLite, the embedded default) the same steps run as separate statements in
the caller's transaction. tests/messaging/test_store.py checks that both
store the same rows.
"""

import functools
from dataclasses import dataclass
from datetime import datetime
from typing import cast
from uuid import UUID

from django.db import connection
from django.db.models import F, Field, Model, QuerySet
from django.db.models.sql import UpdateQuery

from config.prepared import prepared_cursor
from messaging import audit, events
from messaging.models import AuditLog, Conversation, ConversationParticipant, Message
from messaging.search.services import indexing
from messaging.threads import payloads as thread_payloads


@dataclass(frozen=True)
class CompiledClaim:
    """A claim as SQL: ``UPDATE conversations … WHERE … RETURNING last_seq``."""

    sql: str
    params: list


def store_message(
    message: Message,
    *,
    claim: QuerySet[Conversation] | CompiledClaim,
    audit_action: str | None,
    searchable: bool = False,
) -> bool:
    """Store ``message`` (its seq unset) under the next seq of its
    conversation, provided the conversation is in ``claim``.

    Returns False, having written nothing, when it is not. Sets
    ``message.seq``; ``message.sent_at`` becomes the conversation's
    ``last_message_at`` (the inbox orders by one and shows the other),
    unless it is a thread-only reply (``Message.in_main_stream``). A
    second message with the same sender and ``client_id`` raises
    ``IntegrityError`` and leaves nothing behind once the caller's
    transaction rolls back. Run it inside the caller's transaction.

    ``searchable``: also index the message for search (a person's message;
    its attachments, if any, already in ``message.attachments``' cache).

    ``claim`` may come compiled already (``compile_claim``, or the send's
    ``messaging.services.claims``), for the same conversation, with
    ``message.sent_at`` as its time and ``message.in_main_stream``.
    """
    if isinstance(claim, QuerySet):
        claim = compile_claim(
            claim, message.conversation_id, message.sent_at, main_stream=message.in_main_stream
        )
    claim_sql, claim_params = claim.sql, claim.params
    if in_one_statement():
        stored = _store_in_one_statement(
            message, claim_sql, claim_params, audit_action, searchable=searchable
        )
    else:
        stored = _store_in_steps(message, claim_sql, claim_params, audit_action)
        if stored and searchable:
            indexing.index_message(message)
    if stored:
        # Nothing reacted to, pinned or previewed yet: its payload asks no query.
        thread_payloads.mark_fresh(message)
        events.publish_on_commit(
            events.conversation_group(message.conversation_id), events.message_new(message)
        )
    return stored


def in_one_statement() -> bool:
    """Whether ``store_message`` writes with one statement, atomic on its
    own: PostgreSQL has data-modifying CTEs; SQLite has not."""
    return connection.vendor == "postgresql"


def _qn(name: str | None) -> str:
    assert name is not None, "a concrete field always has a column"
    return connection.ops.quote_name(name)


def _field(model: type[Model], name: str) -> Field:
    field = model._meta.get_field(name)
    assert isinstance(field, Field), f"{name} is a concrete field"
    return field


def compile_claim(
    claim: QuerySet[Conversation], conversation_id: UUID, now: datetime, *, main_stream: bool
) -> CompiledClaim:
    """``UPDATE conversations SET last_seq = last_seq + 1, … WHERE <claim>
    AND id = … RETURNING last_seq``, compiled by Django from the queryset.
    A thread-only reply (not ``main_stream``) takes a seq but leaves
    ``last_message_at``: the inbox orders by the main stream."""
    values: dict = {"last_seq": F("last_seq") + 1, "updated_at": now}
    if main_stream:
        values["last_message_at"] = now
    query = cast(UpdateQuery, claim.filter(pk=conversation_id).query.chain(UpdateQuery))
    query.add_update_values(values)
    query.clear_select_clause()
    query.get_initial_alias()
    if query.count_active_tables() != 1:
        # Django would turn the condition into "id IN (SELECT …)", which
        # PostgreSQL does not re-check on the row it locked: a conversation
        # archived while the send waited for the lock would take it.
        raise ValueError("A claim's conditions must not join other tables; use Exists().")
    sql, params = query.get_compiler(connection=connection).as_sql()
    last_seq = _qn(_field(Conversation, "last_seq").column)
    return CompiledClaim(f"{sql} RETURNING {last_seq}", list(params))


def _store_in_steps(
    message: Message, claim_sql: str, claim_params: list, audit_action: str | None
) -> bool:
    with connection.cursor() as cursor:
        cursor.execute(claim_sql, claim_params)
        row = cursor.fetchone()
    if row is None:
        return False
    message.seq = row[0]
    message.save(force_insert=True)
    ConversationParticipant.objects.active().filter(
        conversation_id=message.conversation_id, user_id=message.sender_id
    ).update(last_read_seq=message.seq, last_delivered_seq=message.seq)
    if audit_action:
        audit.record(
            actor=message.sender,
            action=audit_action,
            conversation_id=message.conversation_id,
            message_id=message.pk,
            seq=message.seq,
        )
    return True


def _cast(field: Field) -> str:
    # Typed placeholders: in INSERT … SELECT a bare NULL parameter would be
    # taken for text and refused by a timestamp or uuid column.
    return f"CAST(%s AS {field.cast_db_type(connection)})"


def _prep(model: Model, field: Field) -> object:
    return field.get_db_prep_save(field.pre_save(model, add=True), connection=connection)


@functools.cache
def _one_statement_template(audited: bool, searchable: bool = False) -> str:
    """The statement around the claim (``{claim}``). Table and column names
    come from the models; every value is a parameter."""
    last_seq = _qn(_field(Conversation, "last_seq").column)
    messages = Message._meta
    columns, values = [], []
    for field in messages.concrete_fields:
        columns.append(_qn(field.column))
        values.append(f"claimed.{last_seq}" if field.name == "seq" else _cast(field))
    seq = _qn(_field(Message, "seq").column)
    participant = ConversationParticipant._meta
    p = {
        name: _qn(_field(ConversationParticipant, name).column)
        for name in ("conversation", "user", "left_at", "last_read_seq", "last_delivered_seq")
    }
    statement = (
        "WITH claimed AS ({claim}),"  # noqa: S608 - names from the models, values are parameters
        f" stored AS (INSERT INTO {_qn(messages.db_table)} ({', '.join(columns)})"
        f" SELECT {', '.join(values)} FROM claimed RETURNING {seq} AS seq),"
        f" reader AS (UPDATE {_qn(participant.db_table)} SET {p['last_read_seq']} = stored.seq,"
        f" {p['last_delivered_seq']} = stored.seq FROM stored WHERE {p['conversation']} = %s"
        f" AND {p['user']} = %s AND {p['left_at']} IS NULL)"
    )
    if audited:
        log = AuditLog._meta
        a = {
            name: _field(AuditLog, name)
            for name in ("at", "actor", "action", "conversation_id", "message_id")
        }
        statement += (
            f", audited AS (INSERT INTO {_qn(log.db_table)}"  # noqa: S608 - as above
            f" ({', '.join(_qn(f.column) for f in a.values())},"
            f" {_qn(_field(AuditLog, 'details').column)})"
            f" SELECT {', '.join(_cast(f) for f in a.values())},"
            " jsonb_build_object('seq', seq) FROM stored)"
        )
    if searchable:
        statement += f", indexed AS ({indexing.insert_from_sql('stored', 'seq')})"
    return statement + " SELECT seq FROM stored"  # noqa: S608 - as above


def _store_in_one_statement(
    message: Message,
    claim_sql: str,
    claim_params: list,
    audit_action: str | None,
    *,
    searchable: bool,
) -> bool:
    """Claim, insert, cursors, audit and search row in one PostgreSQL
    statement. It is atomic on its own; a resend fails it on
    UNIQUE(sender, client_id) and nothing of it remains."""
    params = [*claim_params]
    params += [_prep(message, f) for f in Message._meta.concrete_fields if f.name != "seq"]
    params += [message.conversation_id, message.sender_id]
    if audit_action:
        params += [message.sent_at, message.sender_id, audit_action]
        params += [message.conversation_id, message.pk]
    template = _one_statement_template(bool(audit_action), searchable)
    sql = template.replace("{claim}", claim_sql, 1)
    if searchable:
        params += indexing.insert_from_params(message)
    with prepared_cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    if row is None:
        return False
    message.seq = row[0]
    message._state.adding = False
    message._state.db = connection.alias
    return True
