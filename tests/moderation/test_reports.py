"""Reporting a message: the API, the service's rules, the case it opens and
its audit row."""

import pytest

from accounts.models import Role
from messaging import services
from messaging.models import (
    AuditAction,
    AuditLog,
    CaseStatus,
    Message,
    MessageType,
    ModerationCase,
    Report,
    ReportReason,
)
from messaging.moderation.services import cases

pytestmark = [pytest.mark.services, pytest.mark.django_db]


@pytest.fixture
def group(mentor, student, assigned):
    return services.create_conversation(
        creator=mentor, kind="group", participants=[student], title="Study group"
    )


def _report(api, user, message, **body):
    return api(user).post(
        f"/api/messages/{message.pk}/report/", {"reason": "spam", **body}, format="json"
    )


@pytest.mark.parametrize("reason", ReportReason.values)
def test_a_member_reports_anothers_message_and_opens_its_case(
    api, send, group, mentor, student, reason
):
    message = send(mentor, group, "buy my course")
    response = _report(api, student, message, reason=reason, details="Not the first time.")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["reason"] == reason and body["details"] == "Not the first time."
    assert body["message_id"] == str(message.pk)
    report = Report.objects.get()
    assert (report.reporter, report.message, report.reason) == (student, message, reason)
    case = ModerationCase.objects.get(message=message)
    assert case.status == CaseStatus.OPEN and case.report_count == 1
    assert case.sender == mentor and case.conversation == group
    row = AuditLog.objects.get(action=AuditAction.REPORT)
    assert row.actor == student and row.message_id == message.pk
    assert row.conversation_id == group.pk and row.target_user_id == mentor.pk
    assert row.details["reason"] == reason


def test_reporting_spends_from_the_send_bucket(api, send, group, mentor, student, settings):
    """A report opens a case and writes an audit row: past the send budget
    it is refused, and nothing is written."""
    messages = [send(mentor, group, f"message {n}") for n in range(3)]
    settings.PARLEY = {**settings.PARLEY, "SEND_BURST": 2, "SEND_RATE_PER_SECOND": 0.01}
    answers = [_report(api, student, message) for message in messages]
    assert [a.status_code for a in answers] == [201, 201, 429]
    assert answers[2].json()["error"]["code"] == "rate_limited"
    assert Report.objects.count() == 2
    assert not ModerationCase.objects.filter(message=messages[2]).exists()


def test_reporting_twice_is_one_report(api, send, group, mentor, student):
    message = send(mentor, group)
    first = _report(api, student, message)
    again = _report(api, student, message, reason="harassment")
    assert first.status_code == 201 and again.status_code == 200
    assert again.json()["id"] == first.json()["id"]
    assert again.json()["reason"] == "spam"
    assert Report.objects.count() == 1
    assert ModerationCase.objects.get().report_count == 1
    assert AuditLog.objects.filter(action=AuditAction.REPORT).count() == 1


def test_a_second_reporter_counts_and_a_closed_case_reopens(
    api, send, group, mentor, student, make_user, admin_user
):
    other = make_user(Role.MENTOR)
    services.add_participants(actor=mentor, conversation_id=group.pk, users=[other])
    message = send(mentor, group)
    assert _report(api, student, message).status_code == 201
    cases.close_case(message.pk, moderator=admin_user, status=CaseStatus.DISMISSED)
    assert ModerationCase.objects.get().status == CaseStatus.DISMISSED
    assert _report(api, other, message).status_code == 201
    case = ModerationCase.objects.get()
    assert case.status == CaseStatus.OPEN and case.report_count == 2
    assert case.closed_at is None and case.closed_by is None


def test_details_are_limited_to_1000_characters(api, send, group, mentor, student):
    message = send(mentor, group)
    over = _report(api, student, message, details="x" * 1001)
    assert over.status_code == 400 and over.json()["error"]["code"] == "invalid"
    assert not Report.objects.exists() and not ModerationCase.objects.exists()
    assert _report(api, student, message, details="x" * 1000).status_code == 201


@pytest.mark.parametrize("body", [{"reason": "rude"}, {"reason": None}, {}])
def test_the_reason_must_be_one_of_the_list(api, send, group, mentor, student, body):
    message = send(mentor, group)
    response = api(student).post(f"/api/messages/{message.pk}/report/", body, format="json")
    assert response.status_code == 400
    assert not Report.objects.exists()


def test_ones_own_message_cannot_be_reported(api, send, group, student):
    message = send(student, group)
    response = _report(api, student, message)
    assert response.status_code == 400 and response.json()["error"]["code"] == "invalid"
    assert "own message" in response.json()["error"]["message"]
    assert not ModerationCase.objects.exists()


def test_system_messages_cannot_be_reported(api, group, mentor, student, make_user):
    services.add_participants(
        actor=mentor, conversation_id=group.pk, users=[make_user(Role.MENTOR)]
    )
    system = Message.objects.get(conversation=group, message_type=MessageType.SYSTEM)
    response = _report(api, student, system)
    assert response.status_code == 400
    assert not ModerationCase.objects.exists()


def test_a_non_member_is_refused_and_audited(api, send, group, mentor, make_user):
    message = send(mentor, group)
    outsider = make_user(Role.STUDENT)
    response = _report(api, outsider, message)
    assert response.status_code == 404
    assert response.json()["error"] == {"code": "not_found", "message": "No such message."}
    assert not Report.objects.exists() and not ModerationCase.objects.exists()
    denial = AuditLog.objects.get(action=AuditAction.ACCESS_DENIED, actor=outsider)
    assert denial.details["attempted"] == AuditAction.REPORT


def test_unknown_and_deleted_messages_are_not_found(api, send, group, mentor, student):
    message = send(mentor, group)
    services.delete_message(actor=mentor, message_id=message.pk)
    assert _report(api, student, message).status_code == 404
    response = api(student).post(
        "/api/messages/00000000-0000-4000-8000-000000000000/report/",
        {"reason": "spam"},
        format="json",
    )
    assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"


def test_anonymous_is_401(api, send, group, mentor):
    message = send(mentor, group)
    assert _report(api, None, message).status_code == 401


def test_a_student_reports_their_assigned_mentor(api, send, direct, assigned):
    """A student may not block their mentor, but may report them."""
    mentor, student = assigned
    message = send(mentor, direct, "something inappropriate")
    assert _report(api, student, message, reason="safeguarding").status_code == 201
    assert ModerationCase.objects.filter(message=message, status=CaseStatus.OPEN).exists()
