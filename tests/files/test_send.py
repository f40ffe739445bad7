"""Sending with files, through the service and the REST API: claiming in the
send's transaction, idempotent resends, refusals that change nothing."""

import uuid

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from accounts.models import Role
from messaging import events, services
from messaging.errors import AccessDenied, ClientIdConflict, FileRefused, InvalidInput
from messaging.files.models import Attachment, AttachmentKind, PreviewState
from messaging.files.payloads import content_url
from messaging.files.services import attach
from messaging.models import Message, MessageType
from tests.files.factories import make_attachment

pytestmark = [pytest.mark.services, pytest.mark.django_db]


@pytest.fixture
def group(mentor, student, assigned):
    return services.create_conversation(
        creator=mentor, kind="group", participants=[student], title="Drafts"
    )


@pytest.fixture
def other_group(mentor, student, assigned):
    return services.create_conversation(
        creator=mentor, kind="group", participants=[student], title="Other"
    )


def send(user, conversation, *, attachments, content="", client_id=None):
    return services.send_message(
        sender=user,
        conversation_id=conversation.pk,
        content=content,
        client_id=client_id or uuid.uuid4(),
        attachment_ids=[a.pk for a in attachments],
    )


def api(user) -> APIClient:
    client = APIClient()
    client.force_login(user)
    return client


def unsent(*attachments) -> bool:
    return all(
        Attachment.objects.get(pk=a.pk).message_id is None and a.sent_at is None
        for a in attachments
    )


# --- The service ------------------------------------------------------------------


def test_send_with_files_claims_them_in_order_and_shows_them(student, group):
    pdf = make_attachment(uploader=student, conversation=group, kind=AttachmentKind.PDF)
    image = make_attachment(uploader=student, conversation=group)
    result = send(student, group, attachments=[pdf, image], content="my draft")
    message = result.message
    assert result.created
    assert message.message_type == MessageType.FILE
    assert message.file_url == content_url(pdf) == f"/api/attachments/{pdf.pk}/content/"
    rows = list(Attachment.objects.filter(message=message).order_by("position"))
    assert [a.pk for a in rows] == [pdf.pk, image.pk]
    assert [a.position for a in rows] == [0, 1]
    assert all(a.sent_at == message.sent_at for a in rows)
    # The payload shows them from the prefetch cache, without a query.
    with CaptureQueriesContext(connection) as queries:
        payload = events.message_payload(message)
    assert len(queries) == 0
    assert [a["id"] for a in payload["attachments"]] == [str(pdf.pk), str(image.pk)]
    assert payload["attachments"][0]["message_id"] == str(message.pk)


def test_only_images_make_an_image_message_and_the_caption_may_be_empty(student, group):
    images = [make_attachment(uploader=student, conversation=group) for _ in range(2)]
    message = send(student, group, attachments=images).message
    assert message.message_type == MessageType.IMAGE
    assert message.content == ""


def test_message_new_carries_a_preview_that_finished_during_the_send(
    student, group, monkeypatch, django_capture_on_commit_callbacks
):
    """The claim reads the rows it locked: a preview that committed after
    the send read the uploads (before its transaction) is in the announced
    ``message.new``, not the stale state read first."""
    pdf = make_attachment(uploader=student, conversation=group, kind=AttachmentKind.PDF)
    Attachment.objects.filter(pk=pdf.pk).update(preview_state=PreviewState.PENDING)
    read_uploads = attach.uploads_to_send

    def read_then_preview_finishes(**kwargs):
        uploads = read_uploads(**kwargs)
        Attachment.objects.filter(pk=pdf.pk).update(preview_state=PreviewState.READY, page_count=2)
        return uploads

    monkeypatch.setattr(attach, "uploads_to_send", read_then_preview_finishes)
    published = []
    monkeypatch.setattr(events, "publish", lambda group, frame, **_: published.append(frame))
    with django_capture_on_commit_callbacks(execute=True):
        message = send(student, group, attachments=[pdf]).message
    (new,) = [f for f in published if f["type"] == "message.new"]
    assert new["message"]["id"] == str(message.pk)
    assert new["message"]["attachments"][0]["preview"]["state"] == "ready"
    assert new["message"]["attachments"][0]["preview"]["page_count"] == 2


def test_resend_returns_the_original_and_other_files_conflict(student, group):
    a = make_attachment(uploader=student, conversation=group)
    b = make_attachment(uploader=student, conversation=group)
    client_id = uuid.uuid4()
    first = send(student, group, attachments=[a], content="x", client_id=client_id)
    again = send(student, group, attachments=[a], content="x", client_id=client_id)
    assert first.created and not again.created
    assert again.message.pk == first.message.pk
    assert [x["id"] for x in events.message_payload(again.message)["attachments"]] == [str(a.pk)]
    with pytest.raises(ClientIdConflict):
        send(student, group, attachments=[b], content="x", client_id=client_id)
    with pytest.raises(ClientIdConflict):
        send(student, group, attachments=[a, b], content="x", client_id=client_id)
    assert unsent(b)
    assert Message.objects.filter(sender=student).count() == 1


def _nothing_changed(before_messages, *attachments):
    assert Message.objects.count() == before_messages
    assert unsent(*attachments)


def test_someone_elses_upload_is_unknown(student, mentor, group):
    theirs = make_attachment(uploader=mentor, conversation=group)
    mine = make_attachment(uploader=student, conversation=group)
    before = Message.objects.count()
    with pytest.raises(InvalidInput) as refused:
        send(student, group, attachments=[mine, theirs])
    assert refused.value.code == "invalid"
    _nothing_changed(before, theirs, mine)


def test_another_conversations_upload_is_unknown(student, group, other_group):
    elsewhere = make_attachment(uploader=student, conversation=other_group)
    before = Message.objects.count()
    with pytest.raises(InvalidInput):
        send(student, group, attachments=[elsewhere])
    _nothing_changed(before, elsewhere)


def test_an_unknown_id_and_a_duplicate_are_invalid(student, group):
    mine = make_attachment(uploader=student, conversation=group)
    before = Message.objects.count()
    with pytest.raises(InvalidInput):
        services.send_message(
            sender=student,
            conversation_id=group.pk,
            content="",
            client_id=uuid.uuid4(),
            attachment_ids=[uuid.uuid4()],
        )
    with pytest.raises(InvalidInput, match="twice"):
        send(student, group, attachments=[mine, mine])
    _nothing_changed(before, mine)


def test_an_already_sent_upload_fails_the_whole_send(student, group):
    sent = make_attachment(uploader=student, conversation=group)
    fresh = make_attachment(uploader=student, conversation=group)
    send(student, group, attachments=[sent])
    before = Message.objects.count()
    with pytest.raises(InvalidInput, match="already sent"):
        send(student, group, attachments=[fresh, sent], content="again")
    _nothing_changed(before, fresh)
    assert Attachment.objects.get(pk=sent.pk).message.content == ""


def test_too_many_files(student, group, settings):
    settings.PARLEY = {**settings.PARLEY, "MAX_ATTACHMENTS_PER_MESSAGE": 2}
    files = [make_attachment(uploader=student, conversation=group) for _ in range(3)]
    before = Message.objects.count()
    with pytest.raises(FileRefused) as refused:
        send(student, group, attachments=files)
    assert refused.value.code == "too_many_files"
    _nothing_changed(before, *files)


def test_a_refused_send_leaves_the_files_unsent(student, group, make_user):
    """Not allowed to post (removed): the claim rolls back with the send."""
    mine = make_attachment(uploader=student, conversation=group)
    group.participants.filter(user=student).update(left_at=group.created_at)
    before = Message.objects.count()
    with pytest.raises(AccessDenied):
        send(student, group, attachments=[mine])
    _nothing_changed(before, mine)


def test_delete_ends_the_files_in_the_payload(student, group):
    mine = make_attachment(uploader=student, conversation=group)
    message = send(student, group, attachments=[mine]).message
    deleted = services.delete_message(actor=student, message_id=message.pk)
    payload = events.message_payload(deleted)
    assert payload["attachments"] == [] and payload["file_url"] == ""


# --- REST -------------------------------------------------------------------------


def messages_url(conversation) -> str:
    return f"/api/conversations/{conversation.pk}/messages/"


def test_rest_send_with_files_and_resend(student, group):
    client = api(student)
    mine = make_attachment(uploader=student, conversation=group)
    body = {"client_id": str(uuid.uuid4()), "attachments": [str(mine.pk)]}
    first = client.post(messages_url(group), body, format="json")
    assert first.status_code == 201, first.json()
    message = first.json()
    assert message["message_type"] == "image"
    assert message["content"] == ""
    assert [a["id"] for a in message["attachments"]] == [str(mine.pk)]
    assert message["attachments"][0]["thumbnail"]["url"].endswith("/thumbnail/")
    again = client.post(messages_url(group), body, format="json")
    assert again.status_code == 200
    assert again.json()["id"] == message["id"]


def test_rest_content_is_still_required_without_files(student, group):
    client = api(student)
    for body in (
        {"client_id": str(uuid.uuid4())},
        {"client_id": str(uuid.uuid4()), "content": " "},
    ):
        response = client.post(messages_url(group), body, format="json")
        assert response.status_code == 400
        assert response.json()["error"]["code"] == "invalid"
        assert "content" in response.json()["error"]["message"]


@pytest.mark.parametrize(
    ("attachments", "code", "status"),
    [
        ("not-a-list", "invalid", 400),
        ([5], "invalid", 400),
        (["nope"], "invalid", 400),
        ([{"id": "x"}], "invalid", 400),
        ([str(uuid.UUID(int=1))] * 2, "invalid", 400),
        ([str(uuid.UUID(int=n)) for n in range(1, 12)], "too_many_files", 422),
        ([str(uuid.UUID(int=1))], "invalid", 400),  # no such upload
    ],
)
def test_rest_bad_attachments_are_refused_clearly(student, group, attachments, code, status):
    before = Message.objects.count()
    response = api(student).post(
        messages_url(group),
        {"client_id": str(uuid.uuid4()), "content": "x", "attachments": attachments},
        format="json",
    )
    assert response.status_code == status, response.json()
    assert response.json()["error"]["code"] == code
    assert Message.objects.count() == before


def test_rest_someone_elses_upload_changes_nothing(student, mentor, group):
    theirs = make_attachment(uploader=mentor, conversation=group)
    response = api(student).post(
        messages_url(group),
        {"client_id": str(uuid.uuid4()), "attachments": [str(theirs.pk)]},
        format="json",
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid"
    assert unsent(theirs)


def test_outsider_gets_forbidden_and_the_upload_stays(student, group, make_user):
    mine = make_attachment(uploader=student, conversation=group)
    outsider = make_user(Role.STUDENT)
    response = api(outsider).post(
        messages_url(group),
        {"client_id": str(uuid.uuid4()), "attachments": [str(mine.pk)]},
        format="json",
    )
    # Not their upload: the send cannot name it (nothing about it is told).
    assert response.status_code == 400
    assert unsent(mine)


def test_a_file_sent_without_a_caption_is_named_in_its_notification(
    student, mentor, direct, django_capture_on_commit_callbacks
):
    from notifications.models import Notification

    pdf = make_attachment(uploader=student, conversation=direct, kind=AttachmentKind.PDF)
    with django_capture_on_commit_callbacks(execute=True):
        message = send(student, direct, attachments=[pdf]).message
    notification = Notification.objects.get(user=mentor, message=message)
    assert notification.data["excerpt"] == f"Sent {pdf.name}"


def test_a_file_without_a_caption_is_worded_in_each_readers_language(
    student, mentor, group, django_capture_on_commit_callbacks
):
    """The fan-out stores one notification per person; the words around the
    file's name are theirs (their profile's language), whoever sent it."""
    from accounts.models import MentorAssignment, User
    from notifications.models import (
        Channel,
        Kind,
        Notification,
        NotificationPreference,
        default_kinds,
    )

    spanish = User.objects.create_user(
        email="lucia@example.test",
        password="x" * 16,
        display_name="Lucia Student",
        role=Role.STUDENT,
        language="es",
    )
    MentorAssignment.objects.create(mentor=mentor, student=spanish)
    services.add_participants(actor=mentor, conversation_id=group.pk, users=[spanish])
    for person in (mentor, spanish):  # busy groups are quiet unless asked
        kinds = default_kinds()
        kinds[Kind.GROUP.value][Channel.IN_APP.value] = True
        NotificationPreference.objects.create(user=person, kinds=kinds)
    pdf = make_attachment(uploader=student, conversation=group, kind=AttachmentKind.PDF)
    with django_capture_on_commit_callbacks(execute=True):
        message = send(student, group, attachments=[pdf]).message
    excerpts = dict(
        Notification.objects.filter(message=message).values_list("user_id", "data__excerpt")
    )
    assert excerpts == {mentor.pk: f"Sent {pdf.name}", spanish.pk: f"Envió {pdf.name}"}


def test_the_inbox_shows_a_file_message_by_its_caption_or_its_kind(client, student, mentor, direct):
    client.force_login(mentor)
    image = make_attachment(uploader=student, conversation=direct)
    send(student, direct, attachments=[image])
    assert "Sent an image" in client.get("/").content.decode()
    pdf = make_attachment(uploader=student, conversation=direct, kind=AttachmentKind.PDF)
    send(student, direct, attachments=[pdf])
    assert "Sent a file" in client.get("/").content.decode()
    pdf = make_attachment(uploader=student, conversation=direct, kind=AttachmentKind.PDF)
    send(student, direct, attachments=[pdf], content="my essay")
    body = client.get("/").content.decode()
    assert "my essay" in body and "Sent a file" not in body
