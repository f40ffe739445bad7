"""The server-rendered pages: what each shows, and that each refusal is a
clear message that changes nothing."""

import uuid

import pytest
from django.urls import reverse

from accounts.models import Role
from messaging import services
from messaging.models import (
    AuditAction,
    AuditLog,
    Conversation,
    ConversationParticipant,
    ConversationType,
)
from tests.messaging.helpers import send

pytestmark = pytest.mark.django_db


@pytest.fixture
def mentor_client(client, assigned):
    mentor, _ = assigned
    client.force_login(mentor)
    return client


def test_pages_need_a_login(client, direct):
    for url in (reverse("inbox"), reverse("conversation", args=[direct.pk]), reverse("new_direct")):
        response = client.get(url)
        assert response.status_code == 302 and response.url.startswith(reverse("login"))


def test_inbox_lists_conversations_with_unread_counts_and_filters(mentor_client, direct, assigned):
    mentor, student = assigned
    send(student, direct, "Are we still on for Friday?")
    response = mentor_client.get(reverse("inbox"))
    assert response.status_code == 200
    body = response.content.decode()
    assert student.display_name in body and "Are we still on for Friday?" in body
    assert response.headers["Content-Security-Policy"].startswith("default-src 'self'")
    group = mentor_client.get(reverse("inbox") + "?filter=group").content.decode()
    assert "Are we still on for Friday?" not in group


def test_conversation_page_renders_history_escaped(mentor_client, direct, assigned):
    _, student = assigned
    send(student, direct, "<script>window.pwned = 1</script> see https://example.test")
    body = mentor_client.get(reverse("conversation", args=[direct.pk])).content.decode()
    assert "&lt;script&gt;window.pwned = 1&lt;/script&gt;" in body
    assert "<script>window.pwned" not in body


def test_non_member_is_refused_and_audited(client, direct, make_user):
    outsider = make_user(Role.MENTOR)
    client.force_login(outsider)
    response = client.get(reverse("conversation", args=[direct.pk]), follow=True)
    assert response.redirect_chain[-1][0] == reverse("inbox")
    assert "not a member" in response.content.decode()
    assert AuditLog.objects.filter(actor=outsider, action=AuditAction.ACCESS_DENIED).exists()
    missing = client.get(reverse("conversation", args=[uuid.uuid4()]))
    assert missing.status_code == 404


def test_start_direct_only_with_allowed_people(client, assigned, make_user):
    mentor, student = assigned
    stranger = make_user(Role.STUDENT)
    client.force_login(student)
    page = client.get(reverse("new_direct")).content.decode()
    assert mentor.display_name in page and stranger.display_name not in page

    response = client.post(reverse("new_direct"), {"user_id": str(mentor.pk)})
    conversation = Conversation.objects.get(type=ConversationType.DIRECT)
    assert response.url == reverse("conversation", args=[conversation.pk])

    refused = client.post(reverse("new_direct"), {"user_id": str(stranger.pk)}, follow=True)
    assert "may not start a conversation" in refused.content.decode()
    assert Conversation.objects.count() == 1
    assert client.post(reverse("new_direct"), {"user_id": "nobody"}).status_code == 404


def test_group_create_add_remove_rename_archive(mentor_client, assigned, make_user):
    mentor, student = assigned
    colleague = make_user(Role.MENTOR)
    response = mentor_client.post(
        reverse("new_group"), {"title": "Study group", "user_ids": [str(student.pk)]}
    )
    group = Conversation.objects.get(type=ConversationType.GROUP)
    assert response.url == reverse("conversation", args=[group.pk])
    assert group.title == "Study group"

    mentor_client.post(reverse("add_members", args=[group.pk]), {"user_ids": [str(colleague.pk)]})
    mentor_client.post(reverse("remove_member", args=[group.pk]), {"user_id": str(student.pk)})
    active = set(
        ConversationParticipant.objects.active()
        .filter(conversation=group)
        .values_list("user_id", flat=True)
    )
    assert active == {mentor.pk, colleague.pk}

    mentor_client.post(reverse("rename", args=[group.pk]), {"title": "Capstone"})
    mentor_client.post(reverse("archive", args=[group.pk]), {"archived": "1"})
    group.refresh_from_db()
    assert group.title == "Capstone" and group.is_archived
    archived = mentor_client.get(reverse("inbox") + "?filter=archived").content.decode()
    assert "Capstone" in archived


def test_students_cannot_create_groups_or_manage_members(client, assigned, direct, make_user):
    mentor, student = assigned
    group = services.create_conversation(
        creator=mentor, kind=ConversationType.GROUP, participants=[student], title="G"
    )
    client.force_login(student)
    response = client.get(reverse("new_group"), follow=True)
    assert "Only mentors and admins create groups" in response.content.decode()
    response = client.post(
        reverse("remove_member", args=[group.pk]), {"user_id": str(mentor.pk)}, follow=True
    )
    assert "admins remove people" in response.content.decode()
    assert ConversationParticipant.objects.active().filter(conversation=group).count() == 2


def test_support_conversation_reaches_the_admins(client, student, admin_user):
    client.force_login(student)
    client.post(reverse("new_support"), {"title": "Upload broken"})
    support = Conversation.objects.get(type=ConversationType.SUPPORT)
    members = set(support.participants.values_list("user_id", flat=True))
    assert members == {student.pk, admin_user.pk}


def test_profile_updates_display_name(client, student):
    client.force_login(student)
    client.post(reverse("profile"), {"display_name": "Sam S."})
    student.refresh_from_db()
    assert student.display_name == "Sam S."
    response = client.post(reverse("profile"), {"display_name": "   "}, follow=True)
    assert "display name is required" in response.content.decode()
    student.refresh_from_db()
    assert student.display_name == "Sam S."
