"""Migrations match the models, the seed's tables exist on PostgreSQL, and
the audit log refuses to be rewritten there."""

from io import StringIO

import pytest
from django.core.management import call_command
from django.db import DatabaseError, connection, transaction

from messaging import audit
from messaging.models import AuditAction, AuditLog

SEED_TABLES = {
    "users",
    "conversations",
    "conversation_participants",
    "messages",
    "message_status",
    "user_presence",
}


@pytest.mark.django_db
def test_models_and_migrations_agree():
    out = StringIO()
    # --check exits non-zero (SystemExit) when a migration is missing.
    call_command("makemigrations", "--check", "--dry-run", stdout=out, stderr=out)
    assert "No changes detected" in out.getvalue()


@pytest.mark.services
@pytest.mark.django_db
def test_seed_tables_exist_on_postgresql():
    assert connection.vendor == "postgresql"
    tables = set(connection.introspection.table_names())
    assert tables >= SEED_TABLES
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT table_name FROM information_schema.tables "
            "WHERE table_schema = current_schema() AND table_name = ANY(%s)",
            [sorted(SEED_TABLES)],
        )
        assert {row[0] for row in cursor.fetchall()} == SEED_TABLES


@pytest.mark.services
@pytest.mark.django_db
def test_seed_column_names_exist_on_postgresql():
    """The seed's column names, as the brief spells them."""
    expected = {
        "conversations": {"id", "type", "created_at", "updated_at", "metadata"},
        "conversation_participants": {"conversation_id", "user_id", "joined_at", "left_at", "role"},
        "messages": {
            "id",
            "conversation_id",
            "sender_id",
            "content",
            "message_type",
            "file_url",
            "sent_at",
            "edited_at",
            "deleted_at",
            "metadata",
        },
        "message_status": {"message_id", "user_id", "status", "timestamp"},
        "user_presence": {"user_id", "status", "last_seen", "updated_at"},
    }
    with connection.cursor() as cursor:
        for table, columns in expected.items():
            found = {c.name for c in connection.introspection.get_table_description(cursor, table)}
            assert columns <= found, (table, columns - found)


@pytest.mark.services
@pytest.mark.django_db
def test_audit_log_is_append_only_on_postgresql(student):
    row = audit.record(actor=student, action=AuditAction.MESSAGE_SEND, seq=1)
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditLog.objects.filter(pk=row.pk).update(action=AuditAction.MESSAGE_DELETE)
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditLog.objects.filter(pk=row.pk).delete()
    with (
        pytest.raises(DatabaseError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute("DELETE FROM messaging_audit_log")
    row.refresh_from_db()
    assert row.action == AuditAction.MESSAGE_SEND
    assert AuditLog.objects.count() == 1
