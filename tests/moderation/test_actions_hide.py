"""Hiding and restoring a message (messaging.moderation.services.actions):
what members, the sender, search, notifications, files and the audit log
see; who may do it; that a note is required."""

import uuid

import pytest
from django.contrib.auth.models import Group
from rest_framework.test import APIClient

from accounts.models import MentorAssignment, Role
from messaging import events, policy, services
from messaging.errors import AccessDenied, InvalidInput, MessageHidden
from messaging.files.models import AttachmentKind
from messaging.models import AuditAction, AuditLog, CaseStatus, Message, ModerationCase
from messaging.moderation.services import actions, cases
from messaging.search import selectors as search_selectors
from notifications.models import Notification
from tests.files.factories import make_attachment

pytestmark = [pytest.mark.services, pytest.mark.django_db]

SECRET = "a rude remark about pineapples"


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")


@pytest.fixture
def moderator(make_user):
    """A mentor in the Moderators group: moderates through the permission."""
    user = make_user(Role.MENTOR, name="Mo Moderator")
    user.groups.add(Group.objects.get(name="Moderators"))
    return user


@pytest.fixture
def group(assigned, make_user):
    mentor, student = assigned
    other = make_user(Role.STUDENT, name="Olive Other")
    MentorAssignment.objects.create(mentor=mentor, student=other)
    return services.create_conversation(
        creator=mentor, kind="group", participants=[student, other], title="Study"
    )


def say(sender, conversation, content=SECRET, **kwargs):
    return services.send_message(
        sender=sender,
        conversation_id=conversation.pk,
        content=content,
        client_id=uuid.uuid4(),
        **kwargs,
    ).message


def history(user, conversation):
    client = APIClient()
    client.force_login(user)
    response = client.get(f"/api/conversations/{conversation.pk}/messages/")
    assert response.status_code == 200, response.content
    return response.json()["messages"]


def test_hidden_message_is_a_placeholder_for_everyone_sender_included(group, assigned, moderator):
    mentor, student = assigned
    message = say(student, group)
    hidden = actions.hide_message(moderator=moderator, message_id=message.pk, note="rude")
    assert hidden.hidden_at is not None
    for viewer in (student, mentor):
        (shown,) = history(viewer, group)
        assert shown["hidden"] is True
        assert shown["content"] == "" and shown["metadata"] == {} and shown["attachments"] == []
        assert shown["seq"] == message.seq and shown["deleted_at"] is None
        # The conversation page's first render holds no trace of it either.
        client = APIClient()
        client.force_login(viewer)
        page = client.get(f"/c/{group.pk}/")
        assert page.status_code == 200
        assert SECRET not in page.content.decode()
    # The moderators still have it in the database.
    assert Message.objects.get(pk=message.pk).content == SECRET


def test_hide_removes_search_row_and_notifications_restore_brings_search_back(
    group, assigned, moderator, django_capture_on_commit_callbacks
):
    mentor, student = assigned
    with django_capture_on_commit_callbacks(execute=True):
        message = say(student, group, f"{SECRET} @{mentor.display_name}")
    search = lambda: [  # noqa: E731
        h.message.pk for h in search_selectors.search(user=mentor, query="pineapples").hits
    ]
    assert search() == [message.pk]
    assert Notification.objects.filter(message_id=message.pk, user=mentor).exists()

    actions.hide_message(moderator=moderator, message_id=message.pk, note="rude")
    assert search() == []
    assert not Notification.objects.filter(message_id=message.pk).exists()

    actions.restore_message(moderator=moderator, message_id=message.pk, note="on appeal")
    assert search() == [message.pk]
    (shown,) = history(mentor, group)
    assert shown["hidden"] is False and shown["content"].startswith(SECRET)


def test_hidden_message_files_cannot_be_fetched_until_restored(group, assigned, moderator):
    mentor, student = assigned
    upload = make_attachment(uploader=student, conversation=group, kind=AttachmentKind.IMAGE)
    message = say(student, group, "", attachment_ids=[upload.pk])
    upload.refresh_from_db()
    assert policy.may_fetch_attachment(mentor, upload)

    actions.hide_message(moderator=moderator, message_id=message.pk, note="explicit image")
    upload.refresh_from_db()
    assert not policy.may_fetch_attachment(mentor, upload)
    assert not policy.may_fetch_attachment(student, upload)
    client = APIClient()
    client.force_login(mentor)
    (shown,) = history(mentor, group)
    assert shown["attachments"] == [] and shown["file_url"] == ""

    actions.restore_message(moderator=moderator, message_id=message.pk, note="it was fine")
    upload.refresh_from_db()
    assert policy.may_fetch_attachment(mentor, upload)
    (shown,) = history(mentor, group)
    assert [a["id"] for a in shown["attachments"]] == [str(upload.pk)]


def test_sender_cannot_edit_a_hidden_message(group, assigned, moderator):
    _, student = assigned
    message = say(student, group)
    actions.hide_message(moderator=moderator, message_id=message.pk, note="rude")
    with pytest.raises(MessageHidden):
        services.edit_message(editor=student, message_id=message.pk, content="nicer now")
    client = APIClient()
    client.force_login(student)
    response = client.patch(f"/api/messages/{message.pk}/", {"content": "nicer now"}, format="json")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "hidden"
    assert Message.objects.get(pk=message.pk).content == SECRET


def test_hide_and_restore_are_audited_with_note_and_target_and_close_the_case(
    group, assigned, moderator
):
    mentor, student = assigned
    message = say(student, group)
    cases.open_case(message, reports=1)

    actions.hide_message(moderator=moderator, message_id=message.pk, note="rude")
    row = AuditLog.objects.get(action=AuditAction.MESSAGE_HIDE)
    assert row.actor_id == moderator.pk
    assert row.message_id == message.pk and row.conversation_id == group.pk
    assert row.target_user_id == student.pk
    assert row.details["note"] == "rude"
    case = ModerationCase.objects.get(message=message)
    assert case.status == CaseStatus.ACTIONED and case.closed_by_id == moderator.pk

    # Hiding again changes nothing and records nothing.
    actions.hide_message(moderator=moderator, message_id=message.pk, note="again")
    assert AuditLog.objects.filter(action=AuditAction.MESSAGE_HIDE).count() == 1

    actions.restore_message(moderator=moderator, message_id=message.pk, note="on appeal")
    row = AuditLog.objects.get(action=AuditAction.MESSAGE_RESTORE)
    assert row.target_user_id == student.pk and row.details["note"] == "on appeal"
    assert Message.objects.get(pk=message.pk).hidden_at is None


@pytest.mark.parametrize("note", ["", "   "])
def test_a_note_is_required(group, assigned, moderator, note):
    _, student = assigned
    message = say(student, group)
    with pytest.raises(InvalidInput, match="note is required"):
        actions.hide_message(moderator=moderator, message_id=message.pk, note=note)
    assert Message.objects.get(pk=message.pk).hidden_at is None


def test_non_moderators_are_refused_and_the_refusal_audited(group, assigned, make_user):
    mentor, student = assigned
    staff_without_permission = make_user(Role.MENTOR, is_staff=True)
    message = say(student, group)
    for user in (student, mentor, staff_without_permission):
        with pytest.raises(AccessDenied, match="Only moderators"):
            actions.hide_message(moderator=user, message_id=message.pk, note="no")
        assert AuditLog.objects.filter(
            actor=user,
            action=AuditAction.ACCESS_DENIED,
            details__attempted=AuditAction.MESSAGE_HIDE,
        ).exists()
    with pytest.raises(AccessDenied):
        actions.restore_message(moderator=student, message_id=message.pk, note="no")
    assert Message.objects.get(pk=message.pk).hidden_at is None


def test_platform_admin_moderates_by_role(group, assigned, admin_user):
    _, student = assigned
    message = say(student, group)
    actions.hide_message(moderator=admin_user, message_id=message.pk, note="rude")
    assert Message.objects.get(pk=message.pk).is_hidden


def test_frames_carry_the_placeholder_then_the_full_payload(group, assigned, moderator):
    _, student = assigned
    message = say(student, group)
    hidden = actions.hide_message(moderator=moderator, message_id=message.pk, note="rude")
    frame = events.message_hidden(hidden)
    assert frame["type"] == "message.hidden"
    assert frame["message"]["hidden"] is True and frame["message"]["content"] == ""
    restored = actions.restore_message(moderator=moderator, message_id=message.pk, note="ok")
    frame = events.message_restored(restored)
    assert frame["type"] == "message.restored"
    assert frame["message"]["hidden"] is False and frame["message"]["content"] == SECRET


def test_inbox_previews_show_the_placeholder(group, assigned, moderator):
    mentor, student = assigned
    message = say(student, group)
    actions.hide_message(moderator=moderator, message_id=message.pk, note="rude")
    client = APIClient()
    client.force_login(mentor)
    inbox = client.get("/")
    assert inbox.status_code == 200
    assert "Message hidden by a moderator" in inbox.content.decode()
    assert SECRET not in inbox.content.decode()
    (listed,) = client.get("/api/conversations/").json()["conversations"]
    assert listed["last_message"]["hidden"] is True
    assert listed["last_message"]["content"] == ""
