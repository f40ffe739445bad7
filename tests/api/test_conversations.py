import json

import pytest
from django.utils import translation

from accounts.models import MentorAssignment, Role
from messaging import notices, policy, services
from messaging.models import (
    AuditAction,
    AuditLog,
    Conversation,
    ConversationParticipant,
    Message,
)

pytestmark = [pytest.mark.services, pytest.mark.django_db]

UNKNOWN = "00000000-0000-4000-8000-0000000000ff"


def code(response):
    return response.json()["error"]["code"]


# --- list ---------------------------------------------------------------------


def test_list_has_unread_counts_and_last_message(api, group, direct, mentor, student, send):
    send(mentor, group, "one")
    last = send(mentor, group, "two")
    send(student, direct, "hi mentor")

    response = api(student).get("/api/conversations/")
    assert response.status_code == 200
    conversations = response.json()["conversations"]
    by_id = {c["id"]: c for c in conversations}
    assert set(by_id) == {str(group.pk), str(direct.pk)}
    assert by_id[str(group.pk)]["unread_count"] == 2
    assert by_id[str(group.pk)]["last_message"]["id"] == str(last.pk)
    assert by_id[str(group.pk)]["last_message"]["content"] == "two"
    assert by_id[str(direct.pk)]["unread_count"] == 0  # one's own message is read
    assert {p["user"]["id"] for p in by_id[str(group.pk)]["participants"]} == {
        str(mentor.pk),
        str(student.pk),
    }
    # newest activity first
    assert conversations[0]["id"] == str(direct.pk)


def test_list_filters_by_type_and_archive(api, group, direct, mentor):
    client = api(mentor)
    groups = client.get("/api/conversations/?type=group").json()["conversations"]
    assert [c["id"] for c in groups] == [str(group.pk)]

    services.set_archived(actor=mentor, conversation_id=group.pk, archived=True)
    active = client.get("/api/conversations/").json()["conversations"]
    assert [c["id"] for c in active] == [str(direct.pk)]
    archived = client.get("/api/conversations/?archived=true").json()["conversations"]
    assert [c["id"] for c in archived] == [str(group.pk)]
    assert archived[0]["archived_at"] is not None


def test_list_leaves_out_other_peoples_conversations(api, group, outsider):
    response = api(outsider).get("/api/conversations/")
    assert response.json() == {"conversations": []}


@pytest.mark.parametrize("query", ["type=channel", "archived=maybe"])
def test_list_bad_filter_is_invalid(api, mentor, query):
    response = api(mentor).get(f"/api/conversations/?{query}")
    assert response.status_code == 400
    assert code(response) == "invalid"


# --- create -------------------------------------------------------------------


def test_create_group(api, mentor, student, assigned):
    response = api(mentor).post(
        "/api/conversations/",
        {"type": "group", "participant_ids": [str(student.pk)], "title": "Capstone"},
        format="json",
    )
    assert response.status_code == 201
    body = response.json()
    assert body["type"] == "group"
    assert body["title"] == "Capstone"
    assert body["unread_count"] == 0
    assert {p["user"]["id"] for p in body["participants"]} == {str(mentor.pk), str(student.pk)}
    assert Conversation.objects.filter(pk=body["id"]).exists()


def test_create_direct_twice_returns_the_same_conversation(api, assigned):
    mentor, student = assigned
    client = api(student)
    payload = {"type": "direct", "participant_ids": [str(mentor.pk)]}
    first = client.post("/api/conversations/", payload, format="json")
    second = client.post("/api/conversations/", payload, format="json")
    assert first.status_code == 201
    assert second.status_code == 200
    assert first.json()["id"] == second.json()["id"]
    assert Conversation.objects.filter(type="direct").count() == 1


def test_create_group_needs_a_name(api, mentor, student, assigned):
    for payload in ({}, {"title": ""}, {"title": "   "}):
        response = api(mentor).post(
            "/api/conversations/",
            {"type": "group", "participant_ids": [str(student.pk)], **payload},
            format="json",
        )
        assert response.status_code == 400
        assert response.json()["error"] == {"code": "invalid", "message": "A group needs a name."}
    assert not Conversation.objects.exists()


def test_create_direct_with_a_title_is_invalid(api, assigned):
    mentor, student = assigned
    response = api(student).post(
        "/api/conversations/",
        {"type": "direct", "participant_ids": [str(mentor.pk)], "title": "Ours"},
        format="json",
    )
    assert response.status_code == 400
    assert response.json()["error"] == {
        "code": "invalid",
        "message": "A direct conversation has no title.",
    }
    assert not Conversation.objects.exists()


def test_create_direct_again_brings_it_back_from_the_archive(api, direct, assigned):
    mentor, student = assigned
    services.set_archived(actor=mentor, conversation_id=direct.pk, archived=True)
    response = api(student).post(
        "/api/conversations/",
        {"type": "direct", "participant_ids": [str(mentor.pk)]},
        format="json",
    )
    assert response.status_code == 200
    assert response.json()["id"] == str(direct.pk)
    assert response.json()["archived_at"] is None
    direct.refresh_from_db()
    assert not direct.is_archived
    row = AuditLog.objects.get(action=AuditAction.CONVERSATION_UNARCHIVE)
    assert (row.actor_id, row.conversation_id) == (student.pk, direct.pk)


def test_a_support_conversation_is_opened_as_a_request_only(api, student, admin_user):
    """A bare support conversation would put every admin in a conversation
    with no category, status or cap: support is opened as a request."""
    response = api(student).post("/api/conversations/", {"type": "support"}, format="json")
    assert response.status_code == 400
    assert code(response) == "invalid"
    assert "POST /api/support/requests/" in response.json()["error"]["message"]
    assert not Conversation.objects.exists()


def test_creating_renaming_adding_and_removing_spend_from_the_send_bucket(
    api, assigned, make_user, settings
):
    """Each is an audit row and events (and a notice or notification) to
    people: past the send budget they are refused and nothing is written.
    Leaving is never held back; the same title again writes nothing."""
    mentor, student = assigned
    other = make_user(Role.STUDENT)
    MentorAssignment.objects.create(mentor=mentor, student=other)
    settings.PARLEY = {**settings.PARLEY, "SEND_BURST": 4, "SEND_RATE_PER_SECOND": 0.01}
    client = api(mentor)
    created = client.post(
        "/api/conversations/",
        {"type": "group", "title": "Drafts", "participant_ids": [str(student.pk)]},
        format="json",
    )
    group_id = created.json()["id"]
    answers = [
        client.patch(f"/api/conversations/{group_id}/", {"title": "Drafts"}, format="json"),
        client.post(
            f"/api/conversations/{group_id}/participants/",
            {"user_ids": [str(other.pk)]},
            format="json",
        ),
        client.delete(f"/api/conversations/{group_id}/participants/{other.pk}/"),
        client.patch(f"/api/conversations/{group_id}/", {"title": "Final"}, format="json"),
    ]
    assert [a.status_code for a in [created, *answers]] == [201, 200, 200, 204, 429]
    assert code(answers[3]) == "rate_limited"
    assert Conversation.objects.get(pk=group_id).title == "Drafts"
    assert not AuditLog.objects.filter(action=AuditAction.CONVERSATION_UPDATE).exists()
    # Leaving needs no token.
    assert (
        api(student).delete(f"/api/conversations/{group_id}/participants/{student.pk}/").status_code
        == 204
    )


def test_create_refused_by_policy_is_403_and_audited(api, student, outsider, denials):
    response = api(student).post(
        "/api/conversations/",
        {"type": "direct", "participant_ids": [str(outsider.pk)]},
        format="json",
    )
    assert response.status_code == 403
    assert code(response) == "forbidden"
    assert denials(student)[0].details["attempted"] == AuditAction.CONVERSATION_CREATE
    assert not Conversation.objects.exists()


@pytest.mark.parametrize(
    "payload",
    [
        {},
        {"type": "channel"},
        {"type": "group", "participant_ids": ["not-a-uuid"]},
        {"type": "group", "participant_ids": "abc"},
        {"type": "group", "participant_ids": [UNKNOWN]},
        {"type": "group", "title": "x" * 201},
        {"type": "direct", "participant_ids": []},
    ],
)
def test_create_bad_input_is_invalid(api, mentor, payload):
    response = api(mentor).post("/api/conversations/", payload, format="json")
    assert response.status_code == 400
    assert code(response) == "invalid"
    assert response.json()["error"]["message"]
    assert not Conversation.objects.exists()


# --- detail and rename --------------------------------------------------------


def test_detail_has_participants_and_cursors(api, group, mentor, student, send):
    send(mentor, group, "one")
    send(mentor, group, "two")
    services.mark_read(user=student, conversation_id=group.pk, up_to_seq=1)
    response = api(student).get(f"/api/conversations/{group.pk}/")
    assert response.status_code == 200
    body = response.json()
    assert body["last_seq"] == 2
    assert body["unread_count"] == 1
    cursors = {p["user"]["id"]: (p["last_read_seq"], p["role"]) for p in body["participants"]}
    assert cursors == {str(mentor.pk): (2, "admin"), str(student.pk): (1, "member")}


def test_detail_for_non_member_is_404_and_audited(api, group, outsider, denials):
    response = api(outsider).get(f"/api/conversations/{group.pk}/")
    assert response.status_code == 404
    assert response.json() == {"error": {"code": "not_found", "message": "No such conversation."}}
    assert "participants" not in response.json()
    rows = denials(outsider, conversation_id=group.pk)
    assert len(rows) == 1


def test_detail_unknown_is_404(api, mentor):
    response = api(mentor).get(f"/api/conversations/{UNKNOWN}/")
    assert response.status_code == 404
    assert code(response) == "not_found"


def test_rename(api, group, mentor):
    response = api(mentor).patch(
        f"/api/conversations/{group.pk}/", {"title": "  Renamed  "}, format="json"
    )
    assert response.status_code == 200
    assert response.json()["title"] == "Renamed"
    group.refresh_from_db()
    assert group.title == "Renamed"
    # Said in the conversation (in each reader's language), as a member
    # added or removed is; the same title again says nothing.
    notice = Message.objects.filter(conversation=group).latest("seq")
    assert notice.message_type == "system" and notice.seq == group.last_seq
    assert notice.content == f"{mentor.display_name} renamed the conversation to Renamed"
    with translation.override("es"):
        assert notices.worded(notice.metadata) == (
            f"{mentor.display_name} cambió el nombre de la conversación a Renamed"
        )
    row = AuditLog.objects.filter(action=AuditAction.CONVERSATION_UPDATE).latest("at")
    assert row.message_id == notice.pk and row.details["new_title"] == "Renamed"
    api(mentor).patch(f"/api/conversations/{group.pk}/", {"title": "Renamed"}, format="json")
    assert Message.objects.filter(conversation=group).latest("seq").pk == notice.pk


@pytest.mark.parametrize(
    ("title", "named"),
    [
        ("Study\ngroup", "a line break or tab (U+000A"),
        ("\u202epuorg ydutS", "a bidirectional control (U+202E"),
        ("Study \ud800", "a lone surrogate (U+D800"),
        ("Study\x00", "NUL (U+0000"),
    ],
)
def test_rename_refuses_characters_a_title_may_not_hold(api, group, mentor, title, named):
    # json.dumps writes a lone surrogate as its escape, as an outside client would.
    response = api(mentor).patch(
        f"/api/conversations/{group.pk}/",
        json.dumps({"title": title}),
        content_type="application/json",
    )
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid" and "title" in error["fields"]
    assert named in error["message"]
    group.refresh_from_db()
    assert group.title == "Study group"


def test_rename_by_member_not_admin_is_403_and_audited(api, group, student, denials):
    response = api(student).patch(f"/api/conversations/{group.pk}/", {"title": "X"}, format="json")
    assert response.status_code == 403
    assert denials(student, conversation_id=group.pk)
    group.refresh_from_db()
    assert group.title == "Study group"


def test_rename_by_non_member_is_404_and_audited(api, group, outsider, denials):
    response = api(outsider).patch(f"/api/conversations/{group.pk}/", {"title": "X"}, format="json")
    assert response.status_code == 404
    assert denials(outsider, conversation_id=group.pk)


@pytest.mark.parametrize("payload", [{}, {"title": 5}, {"title": "x" * 201}])
def test_rename_bad_input_is_invalid(api, group, mentor, payload):
    response = api(mentor).patch(f"/api/conversations/{group.pk}/", payload, format="json")
    assert response.status_code == 400
    assert code(response) == "invalid"


@pytest.mark.parametrize("title", ["", "   "])
def test_rename_a_group_to_no_name_is_invalid(api, group, mentor, title):
    before = group.title
    response = api(mentor).patch(f"/api/conversations/{group.pk}/", {"title": title}, format="json")
    assert response.status_code == 400
    assert response.json()["error"] == {"code": "invalid", "message": "A group needs a name."}
    group.refresh_from_db()
    assert group.title == before


def test_rename_direct_is_invalid(api, direct, mentor):
    response = api(mentor).patch(f"/api/conversations/{direct.pk}/", {"title": "x"}, format="json")
    assert response.status_code == 400
    assert code(response) == "invalid"


def test_rename_unknown_is_404(api, mentor):
    response = api(mentor).patch(f"/api/conversations/{UNKNOWN}/", {"title": "x"}, format="json")
    assert response.status_code == 404


# --- archive ------------------------------------------------------------------


def test_archive_and_unarchive(api, group, mentor):
    client = api(mentor)
    archived = client.post(f"/api/conversations/{group.pk}/archive/")
    assert archived.status_code == 200
    assert archived.json()["archived_at"] is not None
    group.refresh_from_db()
    assert group.is_archived
    assert AuditLog.objects.filter(action=AuditAction.CONVERSATION_ARCHIVE).count() == 1

    again = client.post(f"/api/conversations/{group.pk}/archive/")
    assert again.status_code == 200
    assert AuditLog.objects.filter(action=AuditAction.CONVERSATION_ARCHIVE).count() == 1

    unarchived = client.post(f"/api/conversations/{group.pk}/unarchive/")
    assert unarchived.status_code == 200
    assert unarchived.json()["archived_at"] is None
    group.refresh_from_db()
    assert not group.is_archived


def test_a_student_cannot_archive_the_direct_conversation_with_their_mentor(
    api, direct, assigned, denials
):
    """Archived, a direct conversation is read-only for both: as strong as
    a block, which a student may not make against their assigned mentor.
    The mentor may; either may unarchive; Archive for me stays everyone's."""
    mentor, student = assigned
    refused = api(student).post(f"/api/conversations/{direct.pk}/archive/")
    assert refused.status_code == 403
    assert code(refused) == "forbidden"
    assert "Archive for me" in refused.json()["error"]["message"]
    direct.refresh_from_db()
    assert not direct.is_archived
    assert denials(student, conversation_id=direct.pk)
    put_away = api(student).put(f"/api/conversations/{direct.pk}/personal-archive/")
    assert put_away.status_code == 200
    assert api(mentor).post(f"/api/conversations/{direct.pk}/archive/").status_code == 200
    assert api(student).post(f"/api/conversations/{direct.pk}/unarchive/").status_code == 200


@pytest.mark.parametrize("action", ["archive", "unarchive"])
def test_archive_by_non_manager_is_refused_and_audited(
    api, group, student, outsider, denials, action
):
    # A member who does not manage it is told so; an outsider is told
    # there is no such conversation.
    for user, status, error in ((student, 403, "forbidden"), (outsider, 404, "not_found")):
        response = api(user).post(f"/api/conversations/{group.pk}/{action}/")
        assert response.status_code == status
        assert code(response) == error
        assert denials(user, conversation_id=group.pk)


@pytest.mark.parametrize("action", ["archive", "unarchive"])
def test_archive_unknown_is_404(api, mentor, action):
    response = api(mentor).post(f"/api/conversations/{UNKNOWN}/{action}/")
    assert response.status_code == 404


# --- participants -------------------------------------------------------------


def test_add_participants(api, group, mentor, make_user):
    newcomer = make_user(Role.MENTOR)
    response = api(mentor).post(
        f"/api/conversations/{group.pk}/participants/",
        {"user_ids": [str(newcomer.pk)]},
        format="json",
    )
    assert response.status_code == 200
    assert str(newcomer.pk) in {p["user"]["id"] for p in response.json()["participants"]}
    assert (
        ConversationParticipant.objects.active().filter(conversation=group, user=newcomer).exists()
    )


def test_add_participants_by_non_manager_is_refused_and_audited(
    api, group, student, outsider, make_user, denials
):
    newcomer = make_user(Role.MENTOR)
    for user, status in ((student, 403), (outsider, 404)):
        response = api(user).post(
            f"/api/conversations/{group.pk}/participants/",
            {"user_ids": [str(newcomer.pk)]},
            format="json",
        )
        assert response.status_code == status
        assert denials(user, conversation_id=group.pk)
    assert not ConversationParticipant.objects.filter(user=newcomer).exists()


@pytest.mark.parametrize(
    "payload", [{}, {"user_ids": []}, {"user_ids": ["nope"]}, {"user_ids": [UNKNOWN]}]
)
def test_add_participants_bad_input_is_invalid(api, group, mentor, payload):
    response = api(mentor).post(
        f"/api/conversations/{group.pk}/participants/", payload, format="json"
    )
    assert response.status_code == 400
    assert code(response) == "invalid"


def test_add_participants_to_archived_is_409(api, group, mentor, make_user):
    newcomer = make_user(Role.MENTOR)
    services.set_archived(actor=mentor, conversation_id=group.pk, archived=True)
    response = api(mentor).post(
        f"/api/conversations/{group.pk}/participants/",
        {"user_ids": [str(newcomer.pk)]},
        format="json",
    )
    assert response.status_code == 409
    assert code(response) == "archived"


def test_add_participants_unknown_conversation_is_404(api, mentor, student):
    response = api(mentor).post(
        f"/api/conversations/{UNKNOWN}/participants/",
        {"user_ids": [str(student.pk)]},
        format="json",
    )
    assert response.status_code == 404


def test_remove_participant_and_leave(api, group, mentor, student, make_user):
    other = make_user(Role.MENTOR)
    services.add_participants(actor=mentor, conversation_id=group.pk, users=[other])

    removed = api(mentor).delete(f"/api/conversations/{group.pk}/participants/{student.pk}/")
    assert removed.status_code == 204
    left = api(other).delete(f"/api/conversations/{group.pk}/participants/{other.pk}/")
    assert left.status_code == 204
    active = set(
        ConversationParticipant.objects.active()
        .filter(conversation=group)
        .values_list("user_id", flat=True)
    )
    assert active == {mentor.pk}
    # Gone means gone: the conversation is no longer theirs to read.
    assert api(student).get(f"/api/conversations/{group.pk}/").status_code == 404


def test_remove_participant_by_non_manager_is_refused_and_audited(
    api, group, mentor, student, outsider, denials
):
    for user, status in ((student, 403), (outsider, 404)):
        response = api(user).delete(f"/api/conversations/{group.pk}/participants/{mentor.pk}/")
        assert response.status_code == status
        assert denials(user, conversation_id=group.pk)
    assert ConversationParticipant.objects.active().filter(conversation=group, user=mentor).exists()


def test_remove_unknown_or_absent_participant_is_404(api, group, mentor, outsider):
    client = api(mentor)
    unknown_user = client.delete(f"/api/conversations/{group.pk}/participants/{UNKNOWN}/")
    assert unknown_user.status_code == 404
    not_member = client.delete(f"/api/conversations/{group.pk}/participants/{outsider.pk}/")
    assert not_member.status_code == 404
    unknown_conv = client.delete(f"/api/conversations/{UNKNOWN}/participants/{mentor.pk}/")
    assert unknown_conv.status_code == 404
    assert code(unknown_conv) == "not_found"


def test_remove_from_direct_is_invalid(api, direct, mentor, student):
    response = api(mentor).delete(f"/api/conversations/{direct.pk}/participants/{student.pk}/")
    assert response.status_code == 400
    assert code(response) == "invalid"


def test_archiving_spends_from_the_send_bucket(api, group, mentor, settings):
    """Each archive and unarchive is an audit row and an event to every
    member: past the send budget they are refused, and nothing is written."""
    settings.PARLEY = {**settings.PARLEY, "SEND_BURST": 3, "SEND_RATE_PER_SECOND": 0.01}
    client = api(mentor)
    answers = [
        client.post(f"/api/conversations/{group.pk}/{verb}/")
        for verb in ("archive", "unarchive", "archive", "unarchive")
    ]
    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    assert answers[3].json()["error"]["code"] == "rate_limited"
    assert int(answers[3]["Retry-After"]) >= 1
    assert AuditLog.objects.filter(action=AuditAction.CONVERSATION_UNARCHIVE).count() == 1
    assert client.put(f"/api/conversations/{group.pk}/personal-archive/").status_code == 429


def test_a_platform_admin_who_is_not_in_a_group_cannot_add_themselves_to_read_it(
    api, group, make_user, mentor, send
):
    """An admin manages a group they are not in (adds, removes, renames)
    without reading it; adding themselves is refused, so its history stays
    closed to them. Others they may still add."""
    send(mentor, group, "only for the group")
    admin = make_user(Role.ADMIN)
    newcomer = make_user(Role.STUDENT)
    client = api(admin)
    refused = client.post(
        f"/api/conversations/{group.pk}/participants/", {"user_ids": [str(admin.pk)]}, format="json"
    )
    assert refused.status_code == 403
    assert code(refused) == "forbidden"
    assert client.get(f"/api/conversations/{group.pk}/messages/").status_code == 404
    # Nor a bot of theirs, whose token would read the group for them.
    from messaging.integrations.bots.services import create_bot

    bot = create_bot(owner=admin, display_name="Reader").bot
    by_bot = client.post(
        f"/api/conversations/{group.pk}/participants/",
        {"user_ids": [str(bot.user_id)]},
        format="json",
    )
    assert by_bot.status_code == 403
    assert not policy.addable_users(admin, group).filter(pk__in=[admin.pk, bot.user_id]).exists()
    added = client.post(
        f"/api/conversations/{group.pk}/participants/",
        {"user_ids": [str(newcomer.pk)]},
        format="json",
    )
    assert added.status_code == 200
    assert client.get(f"/api/conversations/{group.pk}/messages/").status_code == 404
