"""The audit trail: what each action records (who, what, where, about whom),
the admin's filters and CSV export, who may read it, and that the table
refuses UPDATE and DELETE in the database itself, on PostgreSQL and on the
embedded profile's SQLite."""

import csv
import io
import json
import uuid
from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission
from django.db import DatabaseError, connection, transaction
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from messaging import audit, services
from messaging.models import AuditAction, AuditLog
from messaging.support import services as support_services
from tests.messaging.helpers import embedded_manage
from tests.support.conftest import complaint, open_request  # noqa: F401 (support fixtures)

pytestmark = pytest.mark.django_db

CHANGELIST = "admin:messaging_auditlog_changelist"
EXPORT = "admin:messaging_auditlog_export"


@pytest.fixture
def superuser(db):
    return User.objects.create_superuser(
        email="root@example.test", password="root-password-1", display_name="Root"
    )


def rows(**filters):
    return list(AuditLog.objects.filter(**filters).order_by("id"))


# --- What is recorded ----------------------------------------------------------------


def test_conversation_changes_are_recorded_with_their_target(assigned, make_user):
    mentor, student = assigned
    colleague = make_user("mentor")
    group = services.create_conversation(
        creator=mentor, kind="group", participants=[student], title="Before"
    )
    services.rename_conversation(actor=mentor, conversation_id=group.pk, title="After")
    services.add_participants(actor=mentor, conversation_id=group.pk, users=[colleague])
    services.remove_participant(actor=mentor, conversation_id=group.pk, user=colleague)
    services.set_archived(actor=mentor, conversation_id=group.pk, archived=True)

    (created,) = rows(action=AuditAction.CONVERSATION_CREATE, conversation_id=group.pk)
    assert created.actor_id == mentor.pk
    (renamed,) = rows(action=AuditAction.CONVERSATION_UPDATE)
    assert renamed.details == {"old_title": "Before", "new_title": "After"}
    (added,) = rows(action=AuditAction.PARTICIPANT_ADD)
    (removed,) = rows(action=AuditAction.PARTICIPANT_REMOVE)
    assert added.target_user_id == removed.target_user_id == colleague.pk
    assert added.actor_id == removed.actor_id == mentor.pk
    assert rows(action=AuditAction.CONVERSATION_ARCHIVE, conversation_id=group.pk)


def test_sends_edits_and_deletes_are_recorded_edits_with_both_texts(direct, assigned):
    mentor, _ = assigned
    message = services.send_message(
        sender=mentor, conversation_id=direct.pk, content="first", client_id=uuid.uuid4()
    ).message
    services.edit_message(editor=mentor, message_id=message.pk, content="second")
    services.delete_message(actor=mentor, message_id=message.pk)
    (sent,) = rows(action=AuditAction.MESSAGE_SEND)
    (edited,) = rows(action=AuditAction.MESSAGE_EDIT)
    (deleted,) = rows(action=AuditAction.MESSAGE_DELETE)
    assert sent.message_id == edited.message_id == deleted.message_id == message.pk
    assert edited.details["old_text"] == "first" and edited.details["new_text"] == "second"


def test_a_support_assignment_names_the_assignee(open_request, student, admin_user):  # noqa: F811
    request = open_request(student)
    support_services.assign(actor=admin_user, request_id=request.pk, assignee_id=admin_user.pk)
    (assigned_row,) = rows(action=AuditAction.SUPPORT_ASSIGN)
    assert assigned_row.target_user_id == admin_user.pk


# --- Append-only ---------------------------------------------------------------------


def test_the_database_refuses_updates_and_deletes_on_postgresql(student):
    assert connection.vendor == "postgresql"
    row = audit.record(actor=student, action=AuditAction.READ_MARK, note="original")
    table = AuditLog._meta.db_table
    attempts = [
        lambda: AuditLog.objects.filter(pk=row.pk).update(action="tampered"),
        lambda: AuditLog.objects.filter(pk=row.pk).delete(),
        lambda: row.delete(),
    ]
    with connection.cursor() as cursor:
        attempts += [
            lambda: cursor.execute(f"UPDATE {table} SET action = 'x' WHERE id = %s", [row.pk]),
            lambda: cursor.execute(f"DELETE FROM {table} WHERE id = %s", [row.pk]),
        ]
        for attempt in attempts:
            with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
                attempt()
    row.refresh_from_db()
    assert row.action == AuditAction.READ_MARK and row.details == {"note": "original"}


SQLITE_CHECK = """
from django.db import DatabaseError, connection, transaction
from messaging import audit
from messaging.models import AuditLog
assert connection.vendor == "sqlite"
row = audit.record(actor=None, action="read.mark", note="original")
refused = 0
attempts = [
    lambda: AuditLog.objects.filter(pk=row.pk).update(action="tampered"),
    lambda: AuditLog.objects.filter(pk=row.pk).delete(),
    lambda: connection.cursor().execute(
        "UPDATE messaging_audit_log SET action = 'tampered' WHERE id = %s", [row.pk]),
    lambda: connection.cursor().execute(
        "DELETE FROM messaging_audit_log WHERE id = %s", [row.pk]),
]
for attempt in attempts:
    try:
        with transaction.atomic():
            attempt()
    except DatabaseError as error:
        assert "append-only" in str(error), error
        refused += 1
row.refresh_from_db()
assert row.action == "read.mark" and row.details == {"note": "original"}
print("refused", refused, "of", len(attempts))
"""


def test_the_database_refuses_updates_and_deletes_on_sqlite(tmp_path):
    manage = embedded_manage(tmp_path)
    manage("migrate", "--noinput", "-v", "0")
    assert "refused 4 of 4" in manage("shell", "-c", SQLITE_CHECK)


# --- The admin: who, filters, export --------------------------------------------------


def test_reading_the_log_needs_view_auditlog(client, make_user):
    staff = make_user("mentor", is_staff=True)
    client.force_login(staff)
    assert client.get(reverse(CHANGELIST)).status_code == 403
    assert client.get(reverse(EXPORT)).status_code == 403
    staff.user_permissions.add(Permission.objects.get(codename="view_auditlog"))
    staff = User.objects.get(pk=staff.pk)
    client.force_login(staff)
    assert client.get(reverse(CHANGELIST)).status_code == 200
    assert client.get(reverse(EXPORT)).status_code == 200


@pytest.fixture
def trail(make_user):
    """Five rows: two by alice (one about bob), one by bob about alice, one
    refusal by bob, one by nobody, spread over days."""
    alice, bob = make_user("mentor"), make_user("student")
    conversation = uuid.uuid4()
    made = [
        audit.record(actor=alice, action=AuditAction.WARN, target_user_id=bob.pk, note="n1"),
        audit.record(actor=alice, action=AuditAction.MESSAGE_SEND, conversation_id=conversation),
        audit.record(actor=bob, action=AuditAction.BLOCK, target_user_id=alice.pk),
        audit.record(actor=bob, action=AuditAction.ACCESS_DENIED, conversation_id=conversation),
        audit.record(actor=None, action=AuditAction.FILE_PURGE, count=3),
    ]
    return alice, bob, conversation, made


def exported(client, **query) -> list[dict]:
    response = client.get(reverse(EXPORT), query)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    text = b"".join(response.streaming_content).decode()
    return list(csv.DictReader(io.StringIO(text)))


def listed(client, **query):
    response = client.get(reverse(CHANGELIST), query)
    assert response.status_code == 200
    return {row.pk for row in response.context["cl"].result_list}


def test_the_filters_and_the_export_select_the_same_rows(client, superuser, trail):
    alice, bob, conversation, made = trail
    client.force_login(superuser)
    cases = [
        ({"actor": alice.email}, {made[0].pk, made[1].pk}),
        ({"actor": str(bob.pk)}, {made[2].pk, made[3].pk}),
        ({"target": bob.email}, {made[0].pk}),
        ({"target": str(alice.pk)}, {made[2].pk}),
        ({"conversation": str(conversation)}, {made[1].pk, made[3].pk}),
        ({"action__exact": AuditAction.FILE_PURGE}, {made[4].pk}),
        ({"actor": alice.email, "action__exact": AuditAction.WARN}, {made[0].pk}),
        ({"actor": "nobody@example.test"}, set()),
    ]
    for query, expected in cases:
        assert listed(client, **query) == expected, query
        got = exported(client, **query)
        assert len(got) == len(expected), query
        assert {(line["at"], line["action"]) for line in got} == {
            (row.at.isoformat(), row.action) for row in made if row.pk in expected
        }, query


def test_the_export_columns(client, superuser, trail):
    alice, bob, _, made = trail
    client.force_login(superuser)
    (warn,) = exported(client, action__exact=AuditAction.WARN)
    assert list(warn) == [
        "at",
        "action",
        "actor_id",
        "actor_email",
        "target_user_id",
        "target_email",
        "conversation_id",
        "message_id",
        "details",
        "times",
    ]
    assert warn["actor_id"] == str(alice.pk) and warn["actor_email"] == alice.email
    assert warn["target_user_id"] == str(bob.pk) and warn["target_email"] == bob.email
    assert json.loads(warn["details"]) == {"note": "n1"} and warn["times"] == "1"
    (purge,) = exported(client, action__exact=AuditAction.FILE_PURGE)
    assert purge["actor_id"] == "" and purge["target_email"] == ""


def test_the_date_range_filter(client, superuser, trail):
    client.force_login(superuser)
    today = timezone.localdate()
    everything = listed(client)
    assert listed(client, from_date=today.isoformat(), to_date=today.isoformat()) == everything
    tomorrow = (today + timedelta(days=1)).isoformat()
    yesterday = (today - timedelta(days=1)).isoformat()
    assert listed(client, from_date=tomorrow) == set()
    assert listed(client, to_date=yesterday) == set()
    assert len(exported(client, from_date=tomorrow)) == 0
    assert listed(client, from_date="not a date") == everything


def test_export_selected_as_csv(client, superuser, trail):
    _, _, _, made = trail
    client.force_login(superuser)
    response = client.post(
        reverse(CHANGELIST),
        {"action": "export_selected_csv", "_selected_action": [made[0].pk, made[4].pk]},
    )
    assert response.status_code == 200
    text = b"".join(response.streaming_content).decode()
    got = list(csv.DictReader(io.StringIO(text)))
    assert [line["action"] for line in got] == [AuditAction.WARN, AuditAction.FILE_PURGE]


def test_the_list_has_an_export_button_with_its_filters(client, superuser, trail):
    alice, *_ = trail
    client.force_login(superuser)
    page = client.get(reverse(CHANGELIST), {"action__exact": AuditAction.WARN}).content.decode()
    assert 'href="export/?action__exact=moderation.warn"' in page
