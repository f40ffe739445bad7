"""Starting a video call and joining it: the service, the API and the join
page. Who may (members who may post; everyone else is told not_found),
what the message carries (never a join URL), each person's own link, the
audit trail, and bad input."""

import json
import uuid
from urllib.parse import parse_qsl, urlsplit

import jwt
import pytest
from django.urls import reverse

from messaging import services
from messaging.errors import ConversationArchived, InvalidInput, Muted, NotFound
from messaging.integrations.calendar import selectors as calendar
from messaging.integrations.meetings import demo, providers
from messaging.integrations.meetings import services as meetings
from messaging.integrations.models import Meeting
from messaging.models import AuditAction, AuditLog, Message, MessageType
from messaging.moderation.services import actions
from messaging.search import selectors as search
from messaging.search.models import SearchDocument
from tests.integrations.meetings.conftest import JITSI_SECRET
from tests.threads.extras import grant, moderator  # noqa: F401 - a fixture

pytestmark = pytest.mark.django_db


def _claims(url: str) -> dict:
    token = dict(parse_qsl(urlsplit(url).query))["jwt"]
    return jwt.decode(token, JITSI_SECRET, algorithms=["HS256"], audience="jitsi")


# --- Starting ---------------------------------------------------------------------------


def test_starting_a_call_posts_a_meeting_message(
    group, people, django_capture_on_commit_callbacks, monkeypatch
):
    mentor, ann, _ = people
    from messaging import events

    published = []
    monkeypatch.setattr(events, "publish", lambda group_, frame, **_: published.append(frame))
    with django_capture_on_commit_callbacks(execute=True):
        meeting = meetings.start_meeting(
            actor=mentor, conversation_id=group.pk, title="  Weekly check-in "
        )
    meeting.refresh_from_db()
    message = meeting.message
    assert message is not None
    assert message.message_type == MessageType.MEETING
    assert message.sender == mentor and message.seq == group.last_seq + 1
    assert message.content == "Maria Mentor started a video call: Weekly check-in"
    assert message.metadata == {
        "meeting": {
            "id": str(meeting.pk),
            "provider": "jitsi",
            "title": "Weekly check-in",
            "starts_at": meeting.starts_at.isoformat(),
        }
    }
    assert meeting.started_by == mentor and meeting.provider == "jitsi"
    assert meeting.room.startswith("parley") and meeting.title == "Weekly check-in"
    # Delivered live as any message is.
    new = [f for f in published if f["type"] == "message.new"]
    assert [f["message"]["id"] for f in new] == [str(message.pk)]
    assert new[0]["message"]["metadata"]["meeting"]["id"] == str(meeting.pk)
    audit = AuditLog.objects.filter(message_id=message.pk).order_by("id")
    assert [row.action for row in audit] == [AuditAction.MESSAGE_SEND, AuditAction.MEETING_START]
    assert audit[1].details == {"meeting_id": str(meeting.pk), "provider": "jitsi"}


@pytest.fixture
def direct(people):
    mentor, ann, _ = people
    return services.create_conversation(creator=mentor, kind="direct", participants=[ann])


def test_a_call_notifies_as_a_message_does(direct, people, django_capture_on_commit_callbacks):
    # A direct message notifies by default (a busy group's do not).
    from notifications.models import Notification

    mentor, ann, _ = people
    with django_capture_on_commit_callbacks(execute=True):
        meeting = meetings.start_meeting(actor=mentor, conversation_id=direct.pk)
    told = Notification.objects.get(message_id=meeting.message_id)
    assert told.user == ann
    assert "Maria Mentor started a video call" in json.dumps(told.data)


def test_no_join_url_reaches_the_message_search_or_notifications(
    direct, people, django_capture_on_commit_callbacks
):
    from notifications.models import Notification

    mentor, ann, _ = people
    with django_capture_on_commit_callbacks(execute=True):
        meeting = meetings.start_meeting(actor=mentor, conversation_id=direct.pk, title="Review")
    message = Message.objects.get(pk=meeting.message_id)
    url = meetings.join_url(user=ann, meeting_id=meeting.pk)
    stored = json.dumps(
        {"content": message.content, "html": message.content_html, "metadata": message.metadata}
    )
    document = SearchDocument.objects.get(message=message)
    told = list(Notification.objects.filter(message_id=message.pk).values())
    assert told and "started a video call: Review" in json.dumps(told, default=str)
    notifications = json.dumps(told, default=str)
    for text in (stored, document.text, notifications):
        assert meeting.room not in text
        assert "meet.example.org" not in text and "jwt" not in text
    assert meeting.room in url
    # The announcement is found by its words, like any message.
    hits = search.search(user=ann, query="Review")
    assert [h.message.pk for h in hits.hits] == [message.pk]


def test_a_call_may_be_started_without_a_title(group, people):
    mentor, ann, _ = people
    meeting = meetings.start_meeting(actor=ann, conversation_id=group.pk)
    assert meeting.title == ""
    assert meeting.message.content == "Ann Student started a video call"


@pytest.mark.parametrize(
    "title",
    ["x" * 201, "two\nlines", 42, None, "bell\x07"],
    ids=["long", "lines", "int", "none", "ctl"],
)
def test_bad_titles_are_refused(group, people, title):
    mentor, _, _ = people
    with pytest.raises(InvalidInput):
        meetings.start_meeting(actor=mentor, conversation_id=group.pk, title=title)
    assert not Meeting.objects.exists()
    assert not Message.objects.filter(message_type=MessageType.MEETING).exists()


def test_an_outsider_is_told_the_conversation_does_not_exist(group, outsider):
    with pytest.raises(NotFound) as refused:
        meetings.start_meeting(actor=outsider, conversation_id=group.pk)
    with pytest.raises(NotFound) as unknown:
        meetings.start_meeting(actor=outsider, conversation_id=uuid.uuid4())
    assert refused.value.code == unknown.value.code == "not_found"
    assert refused.value.message == unknown.value.message
    assert not Meeting.objects.exists()
    denial = AuditLog.objects.get(action=AuditAction.ACCESS_DENIED)
    assert denial.details["attempted"] == AuditAction.MEETING_START
    assert denial.actor == outsider and denial.conversation_id == group.pk


def test_a_muted_student_may_not_start_a_call(group, people, moderator):  # noqa: F811
    _, ann, _ = people
    actions.mute_user(
        moderator=moderator, user_id=ann.pk, conversation_id=group.pk, minutes=30, note="spam"
    )
    with pytest.raises(Muted):
        meetings.start_meeting(actor=ann, conversation_id=group.pk)
    assert not Meeting.objects.exists()
    assert not Message.objects.filter(message_type=MessageType.MEETING).exists()


def test_nobody_starts_a_call_in_an_archived_conversation(group, people):
    mentor, _, _ = people
    services.set_archived(actor=mentor, conversation_id=group.pk, archived=True)
    with pytest.raises(ConversationArchived):
        meetings.start_meeting(actor=mentor, conversation_id=group.pk)
    assert not Meeting.objects.exists()


def test_calls_off_start_nothing(group, people, settings):
    settings.PARLEY_MEETINGS = {**settings.PARLEY_MEETINGS, "PROVIDER": ""}
    with pytest.raises(providers.MeetingsOff):
        meetings.start_meeting(actor=people[0], conversation_id=group.pk)
    assert not Message.objects.filter(message_type=MessageType.MEETING).exists()


def test_a_client_send_cannot_make_a_meeting_message(group, people, api):
    mentor, _, _ = people
    with pytest.raises(InvalidInput):
        services.send_message(
            sender=mentor,
            conversation_id=group.pk,
            content="x",
            client_id=uuid.uuid4(),
            message_type=MessageType.MEETING,
        )
    forged = {"meeting": {"id": str(uuid.uuid4()), "provider": "link", "title": ""}}
    response = api(mentor).post(
        reverse("api-messages", args=[group.pk]),
        {
            "client_id": str(uuid.uuid4()),
            "content": "hello",
            "message_type": "meeting",
            "metadata": forged,
        },
        format="json",
    )
    # The type is the server's to decide: a text message, its metadata its own.
    assert response.status_code == 201
    assert response.json()["message_type"] == "text"
    assert "meeting" not in response.json()["metadata"]
    assert not Message.objects.filter(message_type=MessageType.MEETING).exists()


def test_a_meeting_message_cannot_be_edited_but_may_be_deleted(group, people):
    mentor, _, _ = people
    meeting = meetings.start_meeting(actor=mentor, conversation_id=group.pk)
    with pytest.raises(InvalidInput):
        services.edit_message(editor=mentor, message_id=meeting.message_id, content="Zoom at 5")
    services.delete_message(actor=mentor, message_id=meeting.message_id)
    assert Message.objects.get(pk=meeting.message_id).deleted_at is not None


# --- Joining ------------------------------------------------------------------------------


def test_each_member_gets_their_own_link(group, people):
    mentor, ann, _ = people
    meeting = meetings.start_meeting(actor=mentor, conversation_id=group.pk)
    for person, moderator_flag in ((mentor, "true"), (ann, "false")):
        url = meetings.join_url(user=person, meeting_id=meeting.pk)
        assert url.startswith(f"https://meet.example.org/{meeting.room}?jwt=")
        claims = _claims(url)
        assert claims["room"] == meeting.room and claims["sub"] == "meet.example.org"
        assert claims["context"]["user"]["id"] == str(person.pk)
        assert claims["context"]["user"]["name"] == person.display_name
        assert claims["context"]["user"]["moderator"] == moderator_flag
    joins = AuditLog.objects.filter(action=AuditAction.MEETING_JOIN).order_by("id")
    assert [j.actor for j in joins] == [mentor, ann]
    assert all("url" not in j.details and "jwt" not in json.dumps(j.details) for j in joins)


def test_outsiders_and_unknown_ids_cannot_join(group, people, outsider):
    meeting = meetings.start_meeting(actor=people[0], conversation_id=group.pk)
    with pytest.raises(NotFound) as refused:
        meetings.join_url(user=outsider, meeting_id=meeting.pk)
    with pytest.raises(NotFound) as unknown:
        meetings.join_url(user=outsider, meeting_id=uuid.uuid4())
    assert refused.value.message == unknown.value.message == "No such video call."
    assert not AuditLog.objects.filter(action=AuditAction.MEETING_JOIN).exists()


def test_a_member_who_left_cannot_join(group, people):
    mentor, ann, _ = people
    meeting = meetings.start_meeting(actor=mentor, conversation_id=group.pk)
    services.remove_participant(actor=ann, conversation_id=group.pk, user=ann)
    with pytest.raises(NotFound):
        meetings.join_url(user=ann, meeting_id=meeting.pk)


@pytest.mark.parametrize("withdrawn_by", ["the starter deleting", "a moderator hiding"])
def test_a_call_whose_announcement_goes_is_withdrawn_everywhere(
    group,
    people,
    api,
    moderator,  # noqa: F811
    withdrawn_by,
):
    """Its title (perhaps why it went) leaves the calendar feed and the
    API, and its join link stops, as the message's content does."""
    mentor, ann, _ = people
    meeting = meetings.start_meeting(actor=mentor, conversation_id=group.pk, title="Abusive")
    kept = meetings.start_meeting(actor=mentor, conversation_id=group.pk, title="Office hour")
    assert {m.pk for m in calendar.feed_items(ann).meetings} == {meeting.pk, kept.pk}
    if withdrawn_by == "the starter deleting":
        services.delete_message(actor=mentor, message_id=meeting.message_id)
    else:
        actions.hide_message(moderator=moderator, message_id=meeting.message_id, note="abuse")
    assert [m.pk for m in calendar.feed_items(ann).meetings] == [kept.pk]
    with pytest.raises(NotFound):
        meetings.join_url(user=ann, meeting_id=meeting.pk)
    client = api(ann)
    for path in (
        reverse("api-meeting", args=[meeting.pk]),
        reverse("api-meeting-join", args=[meeting.pk]),
        f"/api/meetings/{meeting.pk}/ics",
    ):
        response = client.get(path)
        assert response.status_code == 404, path
        assert "Abusive" not in response.content.decode()
    assert client.get(reverse("api-meeting", args=[kept.pk])).status_code == 200


# --- The API and the join page ---------------------------------------------------------------


def test_the_api_starts_reads_and_joins(group, people, api):
    mentor, ann, _ = people
    response = api(mentor).post(
        reverse("api-meetings", args=[group.pk]), {"title": "Office hour"}, format="json"
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["title"] == "Office hour" and body["provider"] == "jitsi"
    assert body["started_by"]["id"] == str(mentor.pk)
    assert body["message"]["message_type"] == "meeting"
    assert body["message"]["metadata"]["meeting"]["id"] == body["id"]
    assert body["join_path"] == f"/meetings/{body['id']}/join/"
    assert "room" not in body and "meet.example.org" not in response.content.decode()

    read = api(ann).get(reverse("api-meeting", args=[body["id"]]))
    assert read.status_code == 200
    assert {k: v for k, v in read.json().items()} == {
        k: v for k, v in body.items() if k != "message"
    }
    joined = api(ann).get(f"/api/meetings/{body['id']}/join/")
    assert joined.status_code == 200
    assert joined["Cache-Control"] == "no-store"
    assert _claims(joined.json()["url"])["context"]["user"]["id"] == str(ann.pk)


def test_the_api_answers_outsiders_as_for_nothing(group, people, api, outsider):
    meeting = meetings.start_meeting(actor=people[0], conversation_id=group.pk)
    client = api(outsider)
    for meeting_id in (meeting.pk, uuid.uuid4()):
        for path in (
            reverse("api-meeting", args=[meeting_id]),
            reverse("api-meeting-join", args=[meeting_id]),
        ):
            response = client.get(path)
            assert response.status_code == 404
            assert response.json()["error"] == {
                "code": "not_found",
                "message": "No such video call.",
            }
    started = client.post(reverse("api-meetings", args=[group.pk]), {}, format="json")
    assert started.status_code == 404
    assert started.json()["error"]["code"] == "not_found"
    assert api().get(reverse("api-meeting-join", args=[meeting.pk])).status_code == 401


def test_the_api_refuses_bad_input(group, people, api):
    client = api(people[0])
    url = reverse("api-meetings", args=[group.pk])
    for body in ({"title": "x" * 300}, {"title": ["a"]}, {"title": None}):
        response = client.post(url, body, format="json")
        assert response.status_code == 400, body
        assert response.json()["error"]["code"] == "invalid"
    not_json = client.post(url, "title=x", content_type="text/plain")
    assert not_json.status_code in (400, 415)
    assert client.get("/api/meetings/not-a-uuid/join/").status_code == 404
    assert not Meeting.objects.exists()


def test_the_api_says_when_calls_are_off(group, people, api, settings):
    settings.PARLEY_MEETINGS = {**settings.PARLEY_MEETINGS, "PROVIDER": ""}
    response = api(people[0]).post(reverse("api-meetings", args=[group.pk]), {}, format="json")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "meetings_off"


def test_the_join_page_redirects_members_only(group, people, outsider, client):
    mentor, ann, _ = people
    meeting = meetings.start_meeting(actor=mentor, conversation_id=group.pk)
    client.force_login(ann)
    response = client.get(reverse("meeting_join", args=[meeting.pk]))
    assert response.status_code == 302
    assert response["Location"].startswith(f"https://meet.example.org/{meeting.room}?jwt=")
    assert _claims(response["Location"])["context"]["user"]["moderator"] == "false"
    assert "no-store" in response["Cache-Control"]
    client.force_login(outsider)
    assert client.get(reverse("meeting_join", args=[meeting.pk])).status_code == 404
    assert client.get(reverse("meeting_join", args=[uuid.uuid4()])).status_code == 404
    client.logout()
    assert client.get(reverse("meeting_join", args=[meeting.pk])).status_code == 302
    assert "login" in client.get(reverse("meeting_join", args=[meeting.pk]))["Location"]


def test_the_join_page_sends_a_member_back_when_the_provider_is_down(
    group, people, client, settings
):
    mentor, ann, _ = people
    # An address nothing answers on: a closed local port.
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings.PARLEY_MEETINGS = {
        **settings.PARLEY_MEETINGS,
        "PROVIDER": "bigbluebutton",
        "BBB_URL": f"http://127.0.0.1:{port}/bigbluebutton/api/",
        "BBB_SECRET": "s3cret",
        "BBB_TIMEOUT_SECONDS": 1,
    }
    meeting = meetings.start_meeting(actor=mentor, conversation_id=group.pk)
    assert meeting.provider == "bigbluebutton"
    client.force_login(ann)
    response = client.get(reverse("meeting_join", args=[meeting.pk]), follow=False)
    assert response.status_code == 302
    assert response["Location"] == reverse("conversation", args=[group.pk])
    api_answer = client.get(reverse("api-meeting-join", args=[meeting.pk]))
    assert api_answer.status_code == 503
    assert api_answer.json()["error"]["code"] == "unavailable"
    # As every 503 unavailable: when to try again, in the header and the body.
    assert api_answer["Retry-After"] == str(api_answer.json()["error"]["retry_after"])
    assert not AuditLog.objects.filter(action=AuditAction.MEETING_JOIN).exists()


def test_the_call_button_shows_where_one_may_post(group, people, outsider, client, settings):
    mentor, _, _ = people
    client.force_login(mentor)
    page = reverse("conversation", args=[group.pk])
    assert 'id="meeting-start"' in client.get(page).content.decode()
    settings.PARLEY_MEETINGS = {**settings.PARLEY_MEETINGS, "PROVIDER": ""}
    assert 'id="meeting-start"' not in client.get(page).content.decode()
    settings.PARLEY_MEETINGS = {**settings.PARLEY_MEETINGS, "PROVIDER": "jitsi"}
    services.set_archived(actor=mentor, conversation_id=group.pk, archived=True)
    assert 'id="meeting-start"' not in client.get(page).content.decode()


def test_the_admin_lists_calls(group, people, admin_user, client):
    meetings.start_meeting(actor=people[0], conversation_id=group.pk, title="Listed call")
    admin_user.is_superuser = True
    admin_user.save()
    client.force_login(admin_user)
    page = client.get(reverse("admin:messaging_meeting_changelist"))
    assert page.status_code == 200
    assert "Listed call" in page.content.decode()


# --- The demo -------------------------------------------------------------------------------------


def test_the_demo_starts_one_call_in_marias_group(make_user, settings):
    from accounts.models import Role

    maria = make_user(Role.MENTOR, name="Maria Mentor")
    sam = make_user(Role.STUDENT, name="Sam Student")
    from accounts.models import MentorAssignment

    MentorAssignment.objects.create(mentor=maria, student=sam)
    direct = services.create_conversation(creator=maria, kind="direct", participants=[sam])
    group = services.create_conversation(
        creator=maria, kind="group", participants=[sam], title="Capstone"
    )
    users = {"maria@parley.test": maria, "sam@parley.test": sam}
    demo.seed_demo(users)
    demo.seed_demo(users)
    meeting = Meeting.objects.get()
    assert meeting.conversation == group and meeting.started_by == maria
    assert meeting.message.message_type == MessageType.MEETING
    assert not Message.objects.filter(conversation=direct, message_type="meeting").exists()
