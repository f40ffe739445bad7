"""``manage.py import_support_csv``: good rows become support requests with
their history, bad rows are reported by line and reason, and a second run
imports nothing twice."""

from datetime import datetime
from io import StringIO
from zoneinfo import ZoneInfo

import pytest
from django.core.management import CommandError, call_command

from accounts.models import Role
from messaging.models import AuditAction, AuditLog, Conversation, Message, MessageType
from messaging.search.models import SearchDocument
from messaging.support.models import SupportRequest
from notifications.models import Kind, Notification

pytestmark = pytest.mark.django_db

CSV = """requester_email,category,subject,body,status,created_at
{student},complaint,Broken chair,"The chair in room 2
is broken.",open,2026-03-01T09:30:00+00:00
{mentor},Technical support,Projector,It flickers.,resolved,2026-03-02
{student},feedback,Great course,Loved it.,closed,2026-03-03 10:00
nobody@example.test,complaint,Ghost,Boo.,open,2026-03-04
{student},billing,Money,Refund please.,open,2026-03-05
{student},complaint,,No subject here.,open,2026-03-06
{student},complaint,Weird status,Hm.,in progress,2026-03-07
{student},complaint,Bad date,Hm.,open,yesterday
{admin},complaint,Admin,Admins do not file requests.,open,2026-03-08
{student},complaint,Empty body,,open,2026-03-09
{student}\x00,complaint,NUL in the address,Hm.,open,2026-03-10
"""


@pytest.fixture
def export(tmp_path, student, mentor, admin_user):
    path = tmp_path / "old-messages.csv"
    path.write_text(
        CSV.format(student=student.email.upper(), mentor=mentor.email, admin=admin_user.email),
        encoding="utf-8",
    )
    return path


def run(path):
    out, err = StringIO(), StringIO()
    try:
        call_command("import_support_csv", str(path), stdout=out, stderr=err)
        failed = False
    except CommandError:
        failed = True
    return failed, out.getvalue(), err.getvalue()


def test_good_rows_are_imported_bad_rows_reported_and_a_rerun_adds_nothing(
    export, student, mentor, admin_user, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        failed, out, err = run(export)
    assert failed
    assert "11 rows: 3 imported, 0 already imported, 8 failed." in out
    reported = err.strip().splitlines()
    assert reported == [
        "line 6: unknown requester email 'nobody@example.test'",
        "line 7: unknown category 'billing'",
        "line 8: empty subject",
        "line 9: bad status 'in progress' (one of open, pending, resolved, closed)",
        "line 10: bad created_at 'yesterday' (expected an ISO 8601 date or date-time)",
        f"line 11: {reported[5].split(': ', 1)[1]}",
        "line 12: A message cannot be empty.",
        f"line 13: unknown requester email {student.email.upper() + chr(0)!r}",
    ]
    assert "may not open support requests" in reported[5]

    requests = {r.subject: r for r in SupportRequest.objects.select_related("category")}
    assert set(requests) == {"Broken chair", "Projector", "Great course"}
    chair = requests["Broken chair"]
    assert chair.requester == student and chair.category.slug == "complaint"
    assert chair.status == "open" and chair.legacy_key
    assert chair.created_at == datetime(2026, 3, 1, 9, 30, tzinfo=ZoneInfo("UTC"))
    first = chair.conversation.messages.get(message_type=MessageType.TEXT)
    assert first.content == "The chair in room 2\nis broken." and first.sender == student
    assert first.sent_at == chair.created_at
    projector = requests["Projector"]
    assert projector.requester == mentor and projector.category.slug == "technical"
    assert projector.status == "resolved" and projector.resolved_at == projector.created_at
    course = requests["Great course"]
    assert course.status == "closed" and course.closed_at == course.created_at
    assert AuditLog.objects.filter(action=AuditAction.SUPPORT_IMPORT).count() == 3
    # History, not news: the imported messages notify nobody, and their
    # status stays as imported.
    assert not Notification.objects.filter(message__conversation__support_request__isnull=False)
    # Nor are the admins told they were added; nobody finds it unread; and
    # search dates it as the history does.
    assert not Notification.objects.filter(kind=Kind.ADDED).exists()
    for request in requests.values():
        members = request.conversation.participants.all()
        assert admin_user.pk in {m.user_id for m in members}
        assert {m.last_read_seq for m in members} == {request.conversation.last_seq}
    assert SearchDocument.objects.get(message=first).sent_at == chair.created_at
    assert projector.__class__.objects.get(pk=projector.pk).status == "resolved"

    before = {
        "requests": SupportRequest.objects.count(),
        "conversations": Conversation.objects.count(),
        "messages": Message.objects.count(),
        "audit": AuditLog.objects.filter(action=AuditAction.SUPPORT_IMPORT).count(),
    }
    with django_capture_on_commit_callbacks(execute=True):
        failed, out, _ = run(export)
    assert failed  # the bad rows are still bad
    assert "11 rows: 0 imported, 3 already imported, 8 failed." in out
    assert before == {
        "requests": SupportRequest.objects.count(),
        "conversations": Conversation.objects.count(),
        "messages": Message.objects.count(),
        "audit": AuditLog.objects.filter(action=AuditAction.SUPPORT_IMPORT).count(),
    }


def test_a_clean_file_exits_zero(tmp_path, student):
    path = tmp_path / "clean.csv"
    path.write_text(
        "Requester Email,Category,Subject,Body,Status,Created_At\n"
        f"{student.email},complaint,Loud,Too loud.,pending,2026-01-02T08:00:00\n",
        encoding="utf-8",
    )
    failed, out, err = run(path)
    assert not failed and err == ""
    assert "1 rows: 1 imported" in out
    assert SupportRequest.objects.get().status == "pending"


def test_a_file_without_the_columns_or_at_all_is_refused(tmp_path, make_user):
    make_user(Role.STUDENT)
    path = tmp_path / "wrong.csv"
    path.write_text("email,subject\nx@example.test,Hi\n", encoding="utf-8")
    with pytest.raises(CommandError, match="Missing columns: requester_email, category"):
        call_command("import_support_csv", str(path), stdout=StringIO())
    with pytest.raises(CommandError, match="Cannot read"):
        call_command("import_support_csv", str(tmp_path / "absent.csv"), stdout=StringIO())
    assert not SupportRequest.objects.exists()
