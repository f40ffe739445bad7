"""Fetching files, thumbnails and preview pages (filesystem storage): who
may (current members; an unsent upload's uploader), the exact headers, the
audit row per person and file and window, and that removal and deletion end access at once."""

import uuid

import pytest
from django.conf import settings
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from accounts.models import Role
from messaging import audit, policy, services
from messaging.errors import NotFound
from messaging.files.models import AttachmentKind
from messaging.files.selectors.access import attachment_for
from messaging.models import AuditAction, AuditLog
from messaging.realtime import clock
from tests.files import makers
from tests.files.factories import make_attachment

pytestmark = [pytest.mark.services, pytest.mark.django_db]

FILE_CSP = "default-src 'none'; sandbox"


@pytest.fixture
def group(mentor, student, assigned):
    return services.create_conversation(
        creator=mentor, kind="group", participants=[student], title="Drafts"
    )


def client_for(user=None) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_login(user)
    return client


def sent(uploader, conversation, *attachments, content=""):
    return services.send_message(
        sender=uploader,
        conversation_id=conversation.pk,
        content=content,
        client_id=uuid.uuid4(),
        attachment_ids=[a.pk for a in attachments],
    ).message


def urls(attachment) -> list[str]:
    base = f"/api/attachments/{attachment.pk}"
    found = [f"{base}/content/"]
    if attachment.thumbnail_key:
        found.append(f"{base}/thumbnail/")
    found += [f"{base}/preview/{n}/" for n in range(1, len(attachment.preview_pages) + 1)]
    return found


def body_of(response) -> bytes:
    return b"".join(response.streaming_content)


def downloads(attachment) -> int:
    return AuditLog.objects.filter(
        action=AuditAction.FILE_DOWNLOAD, details__attachment_id=str(attachment.pk)
    ).count()


@pytest.fixture
def image(student, group):
    attachment = make_attachment(uploader=student, conversation=group, data=makers.png())
    sent(student, group, attachment)
    attachment.refresh_from_db()
    return attachment


@pytest.fixture
def document(student, group):
    attachment = make_attachment(
        uploader=student, conversation=group, kind=AttachmentKind.PDF, preview_pages=2
    )
    sent(student, group, attachment)
    attachment.refresh_from_db()
    return attachment


# --- A member fetches -----------------------------------------------------------


def test_member_fetches_an_image_inline_with_safe_headers(mentor, image):
    response = client_for(mentor).get(f"/api/attachments/{image.pk}/content/")
    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    assert response["Content-Disposition"] == 'inline; filename="diagram.png"'
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Security-Policy"] == FILE_CSP
    assert response["Cache-Control"] == "private, max-age=300"
    assert response["Content-Length"] == str(image.size)
    assert body_of(response) == makers.png()


def test_download_1_forces_attachment_for_an_image(mentor, image):
    response = client_for(mentor).get(f"/api/attachments/{image.pk}/content/?download=1")
    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="diagram.png"'


def test_documents_download_as_attachments_and_pages_are_inline(mentor, document):
    client = client_for(mentor)
    response = client.get(f"/api/attachments/{document.pk}/content/")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == 'attachment; filename="draft.pdf"'
    assert response["Content-Security-Policy"] == FILE_CSP
    assert response["X-Content-Type-Options"] == "nosniff"
    assert body_of(response).startswith(b"%PDF")
    for page in (1, 2):
        shown = client.get(f"/api/attachments/{document.pk}/preview/{page}/")
        assert shown.status_code == 200
        assert shown["Content-Type"] == "image/png"
        assert shown["Content-Disposition"] == f'inline; filename="draft-page-{page}.png"'
        assert shown["Content-Security-Policy"] == FILE_CSP
        assert shown["X-Content-Type-Options"] == "nosniff"
        assert shown["Cache-Control"] == "private, max-age=300"
        assert body_of(shown).startswith(b"\x89PNG")
    beyond = client.get(f"/api/attachments/{document.pk}/preview/3/")
    assert beyond.status_code == 404
    assert beyond.json()["error"]["code"] == "not_found"
    # A document has no thumbnail.
    assert client.get(f"/api/attachments/{document.pk}/thumbnail/").status_code == 404


def test_thumbnail_is_an_inline_image(mentor, image):
    response = client_for(mentor).get(f"/api/attachments/{image.pk}/thumbnail/")
    assert response.status_code == 200
    assert response["Content-Type"] == "image/webp"
    assert response["Content-Disposition"] == 'inline; filename="diagram-thumbnail.webp"'
    assert response["Content-Security-Policy"] == FILE_CSP
    assert body_of(response)[8:12] == b"WEBP"


def test_text_files_are_plain_utf8_attachments(student, mentor, group):
    text = make_attachment(uploader=student, conversation=group, kind=AttachmentKind.TEXT)
    sent(student, group, text)
    response = client_for(mentor).get(f"/api/attachments/{text.pk}/content/")
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="notes.txt"'
    assert body_of(response) == makers.text()


def test_token_auth_works_too(mentor, image):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=mentor).key}")
    assert client.get(f"/api/attachments/{image.pk}/content/").status_code == 200


def test_every_content_fetch_is_audited(mentor, student, image, group):
    client = client_for(mentor)
    with clock.replaced(clock.FakeClock()) as fake:
        window = settings.PARLEY["AUDIT_DOWNLOAD_WINDOW_SECONDS"]
        fake.advance(window - fake.wall() % window)  # the start of a window
        for _ in range(3):
            client.get(f"/api/attachments/{image.pk}/content/")
        client.get(f"/api/attachments/{image.pk}/thumbnail/")  # not a download of the file
        client_for(student).get(f"/api/attachments/{image.pk}/content/")  # someone else
        fake.advance(window)  # the next window
        client.get(f"/api/attachments/{image.pk}/content/")
    rows = AuditLog.objects.filter(action=AuditAction.FILE_DOWNLOAD).order_by("id")
    assert [(row.actor_id, audit.repeats(row)) for row in rows] == [
        (mentor.pk, 3),
        (student.pk, 1),
        (mentor.pk, 1),
    ]
    row = rows.first()
    assert row.conversation_id == group.pk
    assert row.message_id == image.message_id
    assert row.details == {"attachment_id": str(image.pk), "size": image.size}


# --- Everyone else is told not_found ----------------------------------------------


def _refused_everywhere(client, attachment, status=404) -> None:
    for url in urls(attachment):
        response = client.get(url)
        assert response.status_code == status, (url, response.status_code)
        assert response["Content-Type"] == "application/json"
        if status == 404:
            assert response.json()["error"]["code"] == "not_found"


def test_non_participant_gets_404_and_the_refusal_is_audited(make_user, image, document):
    outsider = make_user(Role.STUDENT)
    for attachment in (image, document):
        _refused_everywhere(client_for(outsider), attachment)
        assert downloads(attachment) == 0
    denial = AuditLog.objects.filter(actor=outsider, action=AuditAction.ACCESS_DENIED).first()
    assert denial.details["attempted"] == AuditAction.FILE_DOWNLOAD
    # An id that does not exist answers the same way.
    response = client_for(outsider).get(f"/api/attachments/{uuid.uuid4()}/content/")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_platform_admin_is_no_exception(admin_user, image):
    _refused_everywhere(client_for(admin_user), image)


def test_removed_participant_gets_404_at_once(mentor, student, group, image, document):
    client = client_for(student)
    assert client.get(f"/api/attachments/{image.pk}/content/").status_code == 200
    services.remove_participant(actor=mentor, conversation_id=group.pk, user=student)
    for attachment in (image, document):
        _refused_everywhere(client, attachment)


def test_anonymous_is_told_to_authenticate(image, document):
    for attachment in (image, document):
        _refused_everywhere(client_for(), attachment, status=401)


def test_after_the_message_is_deleted_nobody_fetches(student, mentor, image, document):
    services.delete_message(actor=student, message_id=image.message_id)
    services.delete_message(actor=student, message_id=document.message_id)
    for user in (student, mentor):
        for attachment in (image, document):
            _refused_everywhere(client_for(user), attachment)


def test_an_unsent_upload_is_its_uploaders_only(student, mentor, group):
    upload = make_attachment(uploader=student, conversation=group)
    assert client_for(student).get(f"/api/attachments/{upload.pk}/content/").status_code == 200
    assert client_for(student).get(f"/api/attachments/{upload.pk}/thumbnail/").status_code == 200
    _refused_everywhere(client_for(mentor), upload)


# --- The policy, case by case ------------------------------------------------------


@pytest.mark.parametrize(
    ("who", "state", "allowed"),
    [
        ("uploader", "unsent", True),
        ("member", "unsent", False),
        ("outsider", "unsent", False),
        ("admin", "unsent", False),
        ("uploader", "sent", True),
        ("member", "sent", True),
        ("left", "sent", False),
        ("outsider", "sent", False),
        ("admin", "sent", False),
        ("uploader", "deleted", False),
        ("member", "deleted", False),
        ("uploader", "uploader-left", False),
        ("inactive-member", "sent", False),
    ],
)
def test_may_fetch_attachment(make_user, mentor, student, group, who, state, allowed):
    left = make_user(Role.MENTOR)
    inactive = make_user(Role.MENTOR)
    services.add_participants(actor=mentor, conversation_id=group.pk, users=[left, inactive])
    services.remove_participant(actor=mentor, conversation_id=group.pk, user=left)
    type(inactive).objects.filter(pk=inactive.pk).update(is_active=False)
    inactive.refresh_from_db()
    people = {
        "uploader": student,
        "member": mentor,
        "left": left,
        "outsider": make_user(Role.STUDENT),
        "admin": make_user(Role.ADMIN, is_staff=True),
        "inactive-member": inactive,
    }
    attachment = make_attachment(uploader=student, conversation=group)
    if state != "unsent":
        message = sent(student, group, attachment)
        if state == "deleted":
            services.delete_message(actor=student, message_id=message.pk)
        if state == "uploader-left":
            services.remove_participant(actor=mentor, conversation_id=group.pk, user=student)
    attachment.refresh_from_db()
    user = people[who]
    assert policy.may_fetch_attachment(user, attachment) is allowed
    if allowed:
        assert attachment_for(user, attachment.pk) == attachment
    else:
        with pytest.raises(NotFound):
            attachment_for(user, attachment.pk)
