"""The server-rendered pages: what each shows, and that each refusal is a
clear message that changes nothing."""

import json
import re
import uuid

import pytest
from django.conf import settings
from django.urls import reverse

from accounts.models import Role
from messaging import services
from messaging.events import message_payload
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


PAGE_DATA = re.compile(r'<script id="page-data" type="application/json">(.*?)</script>', re.S)


def page_data(body):
    """The page's data island, as the browser reads it (render.js draws
    every message from it)."""
    (data,) = PAGE_DATA.findall(body)
    return data, json.loads(data)


def test_conversation_page_carries_history_escaped(mentor_client, direct, assigned):
    _, student = assigned
    content = "<script>window.pwned = 1</script> see https://example.test"
    send(student, direct, content)
    body = mentor_client.get(reverse("conversation", args=[direct.pk])).content.decode()
    raw, data = page_data(body)
    assert [m["content"] for m in data["messages"]] == [content]
    # Nothing in the data island can end it or open a tag.
    assert "<" not in raw and ">" not in raw
    assert "<script>window.pwned" not in body


def test_conversation_page_data_is_the_latest_page_as_the_protocol_shapes_it(
    mentor_client, direct, assigned, monkeypatch
):
    mentor, student = assigned
    monkeypatch.setitem(settings.PARLEY, "HISTORY_PAGE_SIZE", 3)
    send(mentor, direct, "first, off the page")
    plain = send(student, direct, "notes at https://example.test/plan")
    edited = send(mentor, direct, "draft")
    services.edit_message(editor=mentor, message_id=edited.pk, content="final")
    deleted = send(student, direct, "oops, wrong chat")
    services.delete_message(actor=student, message_id=deleted.pk)

    response = mentor_client.get(reverse("conversation", args=[direct.pk]))
    body = response.content.decode()
    _, data = page_data(body)
    assert data["conversation_id"] == str(direct.pk) and data["me"] == str(mentor.pk)
    assert data["has_more_before"] is True
    for message in (plain, edited, deleted):
        message.refresh_from_db()
    assert data["messages"] == [
        json.loads(json.dumps(message_payload(m))) for m in (plain, edited, deleted)
    ]
    shown = {m["seq"]: m for m in data["messages"]}
    assert shown[3]["content"] == "final" and shown[3]["edited_at"]
    assert shown[4]["content"] == "" and shown[4]["deleted_at"]
    assert "oops, wrong chat" not in body and "draft" not in body
    # No second, server-side rendering of the messages; a note for browsers
    # without JavaScript instead.
    html = PAGE_DATA.sub("", body)
    assert "notes at https://example.test/plan" not in html
    assert '<ol class="message-list" id="message-list"></ol>' in html
    assert "<noscript>" in body and "needs JavaScript" in body
    assert "messages_page" not in response.context


def test_conversation_page_data_of_a_short_conversation_has_nothing_before(
    mentor_client, direct, assigned
):
    _, student = assigned
    send(student, direct, "only one")
    _, data = page_data(
        mentor_client.get(reverse("conversation", args=[direct.pk])).content.decode()
    )
    assert data["has_more_before"] is False
    assert [(m["seq"], m["content"]) for m in data["messages"]] == [(1, "only one")]


def test_non_member_is_refused_and_audited(client, direct, make_user):
    """The page of a conversation one is not in is the page of one that
    does not exist: the same 404, the same words."""
    outsider = make_user(Role.MENTOR)
    client.force_login(outsider)
    response = client.get(reverse("conversation", args=[direct.pk]))
    assert response.status_code == 404
    assert AuditLog.objects.filter(actor=outsider, action=AuditAction.ACCESS_DENIED).exists()
    missing = client.get(reverse("conversation", args=[uuid.uuid4()]))
    assert missing.status_code == 404
    assert response.content == missing.content


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


def test_a_group_needs_a_name_and_the_form_keeps_what_was_chosen(mentor_client, assigned):
    _, student = assigned
    response = mentor_client.post(
        reverse("new_group"), {"title": "   ", "user_ids": [str(student.pk)]}
    )
    assert response.status_code == 200
    body = response.content.decode()
    assert "A group needs a name." in body
    assert f'value="{student.pk}" checked' in body
    assert not Conversation.objects.exists()


def test_reopening_an_archived_direct_conversation_unarchives_it(client, direct, assigned):
    mentor, student = assigned
    services.set_archived(actor=mentor, conversation_id=direct.pk, archived=True)
    client.force_login(student)
    response = client.post(reverse("new_direct"), {"user_id": str(mentor.pk)})
    assert response.url == reverse("conversation", args=[direct.pk])
    direct.refresh_from_db()
    assert not direct.is_archived
    assert AuditLog.objects.filter(
        action=AuditAction.CONVERSATION_UNARCHIVE, actor=student, conversation_id=direct.pk
    ).exists()


def test_the_new_group_link_follows_the_policy(client, assigned):
    mentor, student = assigned
    new_group = f'href="{reverse("new_group")}"'
    client.force_login(mentor)
    assert new_group in client.get(reverse("profile")).content.decode()
    client.force_login(student)
    assert new_group not in client.get(reverse("profile")).content.decode()


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


def test_the_archive_button_is_offered_only_to_who_may_archive(client, assigned, direct):
    """A direct conversation's Archive (for both) is the mentor's, not
    their student's, on the conversation and its details page; Archive for
    me is on both people's."""
    mentor, student = assigned
    archive = reverse("archive", args=[direct.pk])
    for person, offered in ((student, False), (mentor, True)):
        client.force_login(person)
        for page in ("conversation", "members"):
            body = client.get(reverse(page, args=[direct.pk])).content.decode()
            assert (f'action="{archive}"' in body) is offered, (person, page)
        body = client.get(reverse("conversation", args=[direct.pk])).content.decode()
        assert "Archive for me" in body
    client.force_login(student)
    refused = client.post(archive, {"archived": "1"}, follow=True)
    assert "Archive for me puts it away for you alone" in refused.content.decode()
    direct.refresh_from_db()
    assert not direct.is_archived


def test_the_old_support_form_leads_to_support_requests(client, student, admin_user):
    """Support requests have their own page (tests/support/test_pages.py)."""
    client.force_login(student)
    response = client.post(reverse("new_support"), {"title": "Upload broken"})
    assert response.url == reverse("support_new") + "?subject=Upload+broken"
    assert not Conversation.objects.filter(type=ConversationType.SUPPORT).exists()


def test_the_profile_page_opens_at_its_top(client, student):
    """No field takes the focus on load: Django's password form would, and
    the page opened scrolled past the name and language to it."""
    client.force_login(student)
    page = client.get(reverse("profile")).content.decode()
    assert 'name="old_password"' in page
    assert "autofocus" not in page


def test_profile_updates_display_name(client, student):
    client.force_login(student)
    client.post(reverse("profile"), {"display_name": "Sam S."})
    student.refresh_from_db()
    assert student.display_name == "Sam S."
    response = client.post(reverse("profile"), {"display_name": "   "}, follow=True)
    assert "display name is required" in response.content.decode()
    student.refresh_from_db()
    assert student.display_name == "Sam S."


@pytest.mark.parametrize(
    ("name", "named"),
    [
        ("Sam\x00", "NUL (U+0000"),
        ("Sam\x07", "a control character (U+0007"),
        ("\u202eSam", "a bidirectional control (U+202E"),
        ("Sam\u2028S.", "a line break or tab (U+2028"),
    ],
)
def test_profile_refuses_display_names_the_text_rule_refuses(client, student, name, named):
    """A page error (400) naming the field, not a server error; nothing stored."""
    client.force_login(student)
    response = client.post(reverse("profile"), {"display_name": name})
    assert response.status_code == 400
    assert f"display_name must not contain {named}" in response.content.decode()
    student.refresh_from_db()
    assert student.display_name != name
