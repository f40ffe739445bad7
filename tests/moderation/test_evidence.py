"""Evidence survives its author, and moderators read nobody's messages
without a trace.

A case keeps what the message said when it was reported (its text and its
files' names), so an author who edits or deletes the message afterwards
does not take the evidence with it; the case page shows that snapshot
beside what the message is now. A deletion's audit row keeps the text, as
an edit's does. Moderators (the group) read messages only on the queue's
pages, each opening audited; the Messages and Conversations lists are the
platform admins'. The ordinary delete is the author's own: a moderator's
goes through the queue, with a note."""

import uuid

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse

from accounts.models import User
from messaging import services
from messaging.errors import AccessDenied
from messaging.files.models import AttachmentKind
from messaging.models import AuditAction, AuditLog, CaseStatus, Message, ModerationCase
from messaging.moderation.services import actions
from tests.files.factories import make_attachment
from tests.moderation.conftest import report

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")


def change_url(case):
    return reverse("admin:messaging_moderationcase_change", args=[case.pk])


def case_page(client, moderator, case) -> str:
    client.force_login(moderator)
    response = client.get(change_url(case))
    assert response.status_code == 200
    return response.content.decode()


# --- The snapshot ------------------------------------------------------------------


def test_a_case_keeps_what_was_reported_when_the_author_deletes_it(
    client, moderator, reported, assigned
):
    case, messages = reported
    _, student = assigned
    assert case.reported_content == "line 7"
    services.delete_message(actor=student, message_id=messages[6].pk)

    case.refresh_from_db()
    assert case.reported_content == "line 7"
    page = case_page(client, moderator, case)
    assert "line 7</blockquote>" in page
    assert "deleted by its author at" in page
    # The deletion's audit row keeps the text too.
    row = AuditLog.objects.get(action=AuditAction.MESSAGE_DELETE, message_id=messages[6].pk)
    assert row.details["old_text"] == "line 7" and row.details["moderation"] is False


def test_a_case_keeps_what_was_reported_when_the_author_edits_it(
    client, moderator, reported, assigned
):
    case, messages = reported
    _, student = assigned
    services.edit_message(editor=student, message_id=messages[6].pk, content="all nice now")

    page = case_page(client, moderator, case)
    assert "line 7</blockquote>" in page
    assert "edited since" in page and "all nice now" in page
    case.refresh_from_db()
    assert case.reported_content == "line 7"


def test_an_unchanged_message_says_so(client, moderator, reported):
    case, _ = reported
    page = case_page(client, moderator, case)
    assert "unchanged since it was reported" in page
    assert "edited since" not in page and "deleted by" not in page


def test_a_moderators_deletion_is_told_apart_from_the_authors(client, moderator, reported):
    case, messages = reported
    actions.delete_message(moderator=moderator, message_id=messages[6].pk, note="abuse")
    page = case_page(client, moderator, case)
    assert "deleted by a moderator at" in page and "line 7</blockquote>" in page


def test_the_snapshot_keeps_the_files_names(client, moderator, group, assigned):
    mentor, student = assigned
    attachment = make_attachment(uploader=student, conversation=group, kind=AttachmentKind.TEXT)
    message = services.send_message(
        sender=student,
        conversation_id=group.pk,
        content="see file",
        client_id=uuid.uuid4(),
        attachment_ids=[attachment.pk],
    ).message
    case = report(message, mentor)
    assert case.reported_files == [attachment.name]
    services.delete_message(actor=student, message_id=message.pk)
    page = case_page(client, moderator, case)
    assert f"<li>{attachment.name}</li>" in page and "see file</blockquote>" in page


def test_the_snapshot_stays_while_open_and_is_taken_again_on_reopening(
    reported, assigned, make_user
):
    case, messages = reported
    mentor, student = assigned
    message = messages[6]
    services.edit_message(editor=student, message_id=message.pk, content="second version")
    # Still open: another report does not replace what was first reported.
    case = report(Message.objects.get(pk=message.pk), make_user())
    assert case.reported_content == "line 7" and case.report_count == 2

    ModerationCase.objects.filter(pk=case.pk).update(status=CaseStatus.DISMISSED)
    services.edit_message(editor=student, message_id=message.pk, content="third version")
    # Reopened: the snapshot is the message's latest state.
    case = report(Message.objects.get(pk=message.pk), make_user())
    assert case.status == CaseStatus.OPEN
    assert case.reported_content == "third version"


# --- Moderators' reach ---------------------------------------------------------------


def test_moderators_get_no_message_or_conversation_lists(client, moderator, reported):
    case, messages = reported
    client.force_login(moderator)
    for url in (
        reverse("admin:messaging_message_changelist"),
        reverse("admin:messaging_conversation_changelist"),
        reverse("admin:messaging_message_change", args=[messages[0].pk]),
        reverse("admin:messaging_conversation_change", args=[case.conversation_id]),
    ):
        assert client.get(url).status_code == 403, url
    # Superusers (and admins given the view permissions) keep them.
    client.force_login(
        User.objects.create_superuser(
            email="root@example.test", password="root-password-1", display_name="Root"
        )
    )
    assert client.get(reverse("admin:messaging_message_changelist")).status_code == 200
    assert client.get(reverse("admin:messaging_conversation_changelist")).status_code == 200


def test_opening_a_case_page_is_audited_each_time(client, moderator, reported):
    case, _ = reported
    case_page(client, moderator, case)
    case_page(client, moderator, case)
    rows = AuditLog.objects.filter(action=AuditAction.REVIEW_CONVERSATION)
    assert rows.count() == 2
    for row in rows:
        assert row.actor_id == moderator.pk
        assert row.conversation_id == case.conversation_id
        assert row.message_id == case.message_id
        assert row.details == {"case": str(case.pk)}


def test_staff_without_the_permission_open_no_case_and_write_no_review(
    client, staff_mentor, reported
):
    case, _ = reported
    client.force_login(staff_mentor)
    assert client.get(change_url(case)).status_code == 403
    assert not AuditLog.objects.filter(action=AuditAction.REVIEW_CONVERSATION).exists()


# --- Deleting someone else's message ---------------------------------------------------


def test_a_moderator_deletes_others_messages_only_through_the_queue(
    api, reported, assigned, moderator
):
    case, messages = reported
    mentor, _ = assigned
    mentor.groups.add(Group.objects.get(name="Moderators"))
    message = messages[6]  # the student's
    # Even a member who moderates: the ordinary delete is one's own.
    response = api(mentor).delete(f"/api/messages/{message.pk}/")
    assert response.status_code == 403
    error = response.json()["error"]
    assert (error["code"], error["message"]) == (
        "forbidden",
        "You can change only your own messages.",
    )
    # Not a member: the ordinary delete does not even find the message.
    assert api(moderator).delete(f"/api/messages/{message.pk}/").status_code == 404
    with pytest.raises(AccessDenied):
        services.delete_message(actor=moderator, message_id=message.pk)
    message.refresh_from_db()
    assert message.deleted_at is None

    actions.delete_message(moderator=moderator, message_id=message.pk, note="abuse")
    message.refresh_from_db()
    assert message.deleted_at is not None
    row = AuditLog.objects.get(action=AuditAction.MESSAGE_DELETE, message_id=message.pk)
    assert row.details == {"moderation": True, "old_text": "line 7", "note": "abuse"}
    assert row.target_user_id == message.sender_id
