"""Uploading through the API: each allowed file stored with its row, limits
and quotas refused with nothing stored, access as the policy says, and an
upload read back or discarded by its uploader only."""

import hashlib
import io
import uuid

import pytest
from django.conf import settings as django_settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import override_settings
from django.utils import translation
from PIL import Image

from messaging import services
from messaging.errors import FileTooLarge, UploadQuotaExceeded
from messaging.files import storage
from messaging.files.models import Attachment
from messaging.files.services import uploads
from messaging.models import AuditAction, AuditLog
from messaging.moderation.services import actions
from tests.files import makers, uploading
from tests.files.uploading import (
    GOOD_FILES,
    error_code,
    named,
    raw_multipart,
    stored_files,
    upload,
    upload_url,
)

pytestmark = [pytest.mark.services, pytest.mark.django_db]

# The upload tests' fixtures (tests/files/uploading.py).
api = uploading.api
denials_for = uploading.denials_for
group = uploading.group
outsider = uploading.outsider


def stored_bytes(key: str) -> bytes:
    with storage.open_file(key) as f:
        return f.read()


@pytest.mark.parametrize("which", sorted(GOOD_FILES))
def test_each_allowed_file_is_stored_with_its_row(api, group, student, media_root, which):
    make, name, kind, content_type, stored_name = GOOD_FILES[which]
    # Made once: an office file records when it was made (to the second).
    sent = make()
    response = upload(api(student), group, sent, name)
    assert response.status_code == 201, response.content
    body = response.json()
    attachment = Attachment.objects.get(pk=body["id"])
    assert (body["kind"], body["content_type"], body["name"]) == (kind, content_type, stored_name)
    assert body["message_id"] is None
    assert body["url"] == f"/api/attachments/{attachment.pk}/content/"
    assert attachment.uploader == student
    assert attachment.conversation == group
    assert attachment.original_name == name
    content = stored_bytes(attachment.storage_key)
    assert len(content) == attachment.size == body["size"]
    assert hashlib.sha256(content).hexdigest() == attachment.sha256
    assert attachment.storage_key.startswith(f"attachments/{attachment.pk.hex[:2]}/")
    assert name not in attachment.storage_key  # keys never use the uploader's name
    if kind == "image":
        assert body["thumbnail"]["url"] == f"/api/attachments/{attachment.pk}/thumbnail/"
        thumb = Image.open(io.BytesIO(stored_bytes(attachment.thumbnail_key)))
        assert thumb.size == (body["thumbnail"]["width"], body["thumbnail"]["height"])
        assert Image.open(io.BytesIO(content)).size == (body["width"], body["height"])
        assert body["preview"]["state"] == "none"
    else:
        assert body["thumbnail"] is None
        assert content == sent
        expected_state = "none" if kind == "archive" else "pending"
        assert body["preview"]["state"] == expected_state
    if kind == "pdf":
        assert body["preview"]["page_count"] == 1
    files = stored_files(media_root)
    assert len(files) == (2 if kind == "image" else 1)
    audit = AuditLog.objects.get(action=AuditAction.FILE_UPLOAD, actor=student)
    assert audit.conversation_id == group.pk
    assert audit.details["attachment_id"] == str(attachment.pk)
    assert audit.details["sha256"] == attachment.sha256


def test_a_pdf_counts_its_pages(api, group, student):
    response = upload(api(student), group, makers.pdf("one", "two", "three"), "three.pdf")
    assert response.status_code == 201
    assert response.json()["preview"]["page_count"] == 3


def test_previews_are_queued_after_commit_for_documents_only(
    api, group, student, monkeypatch, django_capture_on_commit_callbacks
):
    queued = []
    monkeypatch.setattr(
        uploads.tasks.make_preview, "apply_async", lambda args, **_: queued.append(*args)
    )
    client = api(student)
    with django_capture_on_commit_callbacks(execute=True):
        pdf = upload(client, group, makers.pdf(), "a.pdf").json()
        docx = upload(client, group, makers.docx(), "a.docx").json()
        text = upload(client, group, makers.text(), "a.txt").json()
        upload(client, group, makers.png(), "a.png")
        upload(client, group, GOOD_FILES["zip"][0](), "a.zip")
    assert queued == [pdf["id"], docx["id"], text["id"]]


def test_a_preview_that_cannot_be_queued_leaves_the_upload(
    api, group, student, monkeypatch, django_capture_on_commit_callbacks
):
    def broker_down(args, **options):
        raise ConnectionError("broker down")

    monkeypatch.setattr(uploads.tasks.make_preview, "apply_async", broker_down)
    with django_capture_on_commit_callbacks(execute=True):
        response = upload(api(student), group, makers.pdf(), "a.pdf")
    assert response.status_code == 201
    assert Attachment.objects.filter(pk=response.json()["id"]).exists()


# --- Names ----------------------------------------------------------------------------


@pytest.mark.parametrize("filename", ["../../etc/passwd", "..\\..\\etc\\passwd", "/etc/passwd"])
def test_a_path_in_the_name_is_dropped(api, group, student, filename):
    body, content_type = raw_multipart(b"root:x:0:0:root:/root:/bin/bash\n", filename)
    response = api(student).generic("POST", upload_url(group), body, content_type=content_type)
    assert response.status_code == 201, response.content
    attachment = Attachment.objects.get(pk=response.json()["id"])
    assert attachment.name == "passwd.txt"
    assert "/" not in attachment.storage_key.removeprefix("attachments/").split("/", 2)[-1]
    assert "etc" not in attachment.storage_key


def test_the_service_sanitises_whatever_name_it_is_given(group, student):
    upload_file = SimpleUploadedFile("x", makers.text())
    upload_file.name = "../../etc/passwd"  # as a caller other than the parser might
    attachment = uploads.create_upload(
        uploader=student, conversation_id=group.pk, upload=upload_file
    )
    assert attachment.name == "passwd.txt"


def test_the_extension_follows_the_bytes(api, group, student):
    response = upload(api(student), group, makers.pdf(), "evil.png")
    assert response.status_code == 201
    assert response.json()["name"] == "evil.pdf"
    assert response.json()["content_type"] == "application/pdf"


# --- Limits ---------------------------------------------------------------------------


@pytest.mark.parametrize("size", [1_001, 200_000])
def test_over_the_size_limit_is_413_and_nothing_is_stored(
    api, group, student, settings, media_root, size
):
    """1,001 bytes: refused while the body is read; 200,000: refused from
    Content-Length before it is."""
    settings.PARLEY = {**settings.PARLEY, "MAX_UPLOAD_BYTES": 1_000}
    response = upload(api(student), group, b"a" * size, "big.txt")
    assert response.status_code == 413
    assert error_code(response) == "file_too_large"
    assert "1000" in response.json()["error"]["message"]
    assert not Attachment.objects.exists()
    assert stored_files(media_root) == []
    assert not AuditLog.objects.filter(action=AuditAction.FILE_UPLOAD).exists()


def test_at_the_size_limit_is_accepted(api, group, student, settings):
    settings.PARLEY = {**settings.PARLEY, "MAX_UPLOAD_BYTES": 1_000}
    assert upload(api(student), group, b"a" * 1_000, "full.txt").status_code == 201


def test_a_large_file_under_the_limit_is_stored_whole(api, group, student, media_root):
    """Larger than Django keeps in memory (FILE_UPLOAD_MAX_MEMORY_SIZE): the
    parser spools it to a temporary file, and all of it is stored."""
    content = (b"0123456789abcdef" * 4096 + b"\n") * 50  # ~3.3 MB
    assert len(content) > django_settings.FILE_UPLOAD_MAX_MEMORY_SIZE
    response = upload(api(student), group, content, "big.txt")
    assert response.status_code == 201
    attachment = Attachment.objects.get(pk=response.json()["id"])
    assert stored_bytes(attachment.storage_key) == content


def test_the_daily_count_is_limited(api, group, student, settings, media_root):
    settings.PARLEY = {**settings.PARLEY, "DAILY_UPLOAD_COUNT": 2}
    client = api(student)
    codes = [upload(client, group, makers.text(f"n{n}"), "n.txt").status_code for n in range(3)]
    assert codes == [201, 201, 429]
    refused = upload(client, group, makers.text("again"), "n.txt")
    assert error_code(refused) == "upload_quota"
    assert Attachment.objects.count() == 2
    assert len(stored_files(media_root)) == 2


def test_sizes_are_said_in_the_units_the_page_shows():
    """A person compares the limit with the size beside their file (25.7 MB
    for 27,000,000 bytes): both in 1024-based units, never in raw bytes."""
    assert FileTooLarge(26_214_400).message == "A file has at most 25.0\xa0MB."
    with translation.override("es"):
        assert FileTooLarge(26_214_400).message == "Un archivo tiene como máximo 25,0\xa0MB."


def test_the_daily_bytes_are_limited(api, group, student, settings):
    settings.PARLEY = {**settings.PARLEY, "DAILY_UPLOAD_BYTES": 1_500}
    client = api(student)
    assert upload(client, group, b"a" * 1_000, "a.txt").status_code == 201
    refused = upload(client, group, b"b" * 501, "b.txt")
    assert refused.status_code == 429
    assert error_code(refused) == "upload_quota"
    assert (
        refused.json()["error"]["message"] == "At most 1.5\xa0KB of files in 24 hours; try later."
    )
    assert upload(client, group, b"c" * 500, "c.txt").status_code == 201


def test_the_quota_is_per_person_and_per_day(group, student, mentor, settings):
    settings.PARLEY = {**settings.PARLEY, "DAILY_UPLOAD_COUNT": 1}
    first = uploads.create_upload(
        uploader=student, conversation_id=group.pk, upload=SimpleUploadedFile("a.txt", b"a")
    )
    # Someone else is not held back by it.
    uploads.create_upload(
        uploader=mentor, conversation_id=group.pk, upload=SimpleUploadedFile("b.txt", b"b")
    )
    with pytest.raises(UploadQuotaExceeded):
        uploads.create_upload(
            uploader=student, conversation_id=group.pk, upload=SimpleUploadedFile("c.txt", b"c")
        )
    # A day later the first upload no longer counts.
    Attachment.objects.filter(pk=first.pk).update(
        created_at=first.created_at - uploads.quota.WINDOW
    )
    uploads.create_upload(
        uploader=student, conversation_id=group.pk, upload=SimpleUploadedFile("d.txt", b"d")
    )


def test_uploads_share_the_send_rate_limit(api, group, student, settings):
    limits = {**settings.PARLEY, "SEND_BURST": 2, "SEND_RATE_PER_SECOND": 0.01}
    with override_settings(PARLEY=limits):
        client = api(student)
        codes = [upload(client, group, makers.text(), "t.txt") for _ in range(3)]
    assert [r.status_code for r in codes] == [201, 201, 429]
    assert error_code(codes[2]) == "rate_limited"
    assert "Retry-After" in codes[2]


# --- Who may upload -------------------------------------------------------------------


def test_a_non_member_gets_404_and_nothing_is_stored(api, group, outsider, media_root, denials_for):
    response = upload(api(outsider), group, makers.png(), "a.png")
    assert response.status_code == 404
    assert error_code(response) == "not_found"
    assert not Attachment.objects.exists()
    assert stored_files(media_root) == []
    (denial,) = denials_for(outsider)
    assert denial.details["attempted"] == AuditAction.FILE_UPLOAD


def test_an_unknown_conversation_is_404(api, student):
    response = upload(api(student), uuid.uuid4(), makers.png(), "a.png")
    assert response.status_code == 404
    assert error_code(response) == "not_found"


def test_anonymous_is_401(api, group, media_root):
    response = upload(api(), group, makers.png(), "a.png")
    assert response.status_code == 401
    assert not Attachment.objects.exists()
    assert stored_files(media_root) == []


def test_an_archived_conversation_takes_no_uploads(api, group, mentor, student):
    services.set_archived(actor=mentor, conversation_id=group.pk, archived=True)
    response = upload(api(student), group, makers.png(), "a.png")
    assert response.status_code == 409
    assert error_code(response) == "archived"
    assert not Attachment.objects.exists()


def test_a_muted_member_uploads_nothing_and_is_told_why_as_a_send_is(
    api, group, student, admin_user, media_root
):
    mute = actions.mute_user(
        moderator=admin_user, user_id=student.pk, conversation_id=group.pk, minutes=30, note="spam"
    )
    response = upload(api(student), group, makers.png(), "a.png")
    assert response.status_code == 403
    error = response.json()["error"]
    assert error["code"] == "muted"
    assert "in this conversation until" in error["message"]
    assert error["until"] == mute.ends_at.isoformat()
    assert 0 < error["retry_after"] <= 30 * 60
    assert not Attachment.objects.exists()
    assert stored_files(media_root) == []


def test_a_mute_everywhere_refuses_uploads_everywhere(api, group, student, admin_user):
    actions.mute_user(
        moderator=admin_user, user_id=student.pk, conversation_id=None, minutes=60, note="abuse"
    )
    response = upload(api(student), group, makers.png(), "a.png")
    assert response.status_code == 403
    assert error_code(response) == "muted"
    assert not Attachment.objects.exists()


def test_a_missing_file_field_is_invalid(api, group, student):
    client = api(student)
    response = client.post(upload_url(group), {"other": "x"}, format="multipart")
    assert response.status_code == 400
    assert error_code(response) == "invalid"
    response = client.post(upload_url(group), {"file": "not a file, a field"}, format="multipart")
    assert response.status_code == 400
    two = [named(makers.png(), "a.png"), named(makers.png(), "b.png")]
    response = client.post(upload_url(group), {"file": two}, format="multipart")
    assert response.status_code == 400
    assert error_code(response) == "invalid"
    assert not Attachment.objects.exists()


def test_a_json_body_is_415(api, group, student):
    response = api(student).post(upload_url(group), {"file": "x"}, format="json")
    assert response.status_code == 415
    assert error_code(response) == "unsupported_media_type"


def test_the_upload_works_with_a_token_and_with_a_session_and_its_csrf_token(
    group, student, media_root
):
    from django.middleware.csrf import _get_new_csrf_string, _mask_cipher_secret
    from rest_framework.authtoken.models import Token
    from rest_framework.test import APIClient

    by_token = APIClient(enforce_csrf_checks=True)
    by_token.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=student).key}")
    assert upload(by_token, group, makers.png(), "a.png").status_code == 201

    session = APIClient(enforce_csrf_checks=True)
    session.force_login(student)
    assert upload(session, group, makers.png(), "b.png").status_code == 403  # no CSRF token
    secret = _get_new_csrf_string()
    session.cookies["csrftoken"] = secret
    session.defaults["HTTP_X_CSRFTOKEN"] = _mask_cipher_secret(secret)
    assert upload(session, group, makers.png(), "b.png").status_code == 201
    assert Attachment.objects.count() == 2


# --- Reading and discarding an upload -------------------------------------------------


def test_the_uploader_reads_an_unsent_upload_nobody_else_does(api, group, student, mentor):
    created = upload(api(student), group, makers.png(), "a.png").json()
    url = f"/api/attachments/{created['id']}/"
    read = api(student).get(url)
    assert read.status_code == 200
    assert read.json() == created
    # A member of the conversation, but the upload is not sent yet.
    assert api(mentor).get(url).status_code == 404
    assert api().get(url).status_code == 401
    assert api(student).get(f"/api/attachments/{uuid.uuid4()}/").status_code == 404


def test_the_uploader_discards_an_unsent_upload(
    api, group, student, mentor, media_root, django_capture_on_commit_callbacks
):
    created = upload(api(student), group, makers.png(), "a.png").json()
    url = f"/api/attachments/{created['id']}/"
    assert len(stored_files(media_root)) == 2  # the image and its thumbnail
    assert api(mentor).delete(url).status_code == 404
    with django_capture_on_commit_callbacks(execute=True):
        response = api(student).delete(url)
    assert response.status_code == 204
    assert not Attachment.objects.filter(pk=created["id"]).exists()
    assert stored_files(media_root) == []
    audit = AuditLog.objects.get(action=AuditAction.FILE_DISCARD)
    assert audit.actor == student
    assert audit.details["attachment_id"] == created["id"]
    assert api(student).delete(url).status_code == 404


def test_a_sent_upload_cannot_be_discarded(api, group, student, media_root):
    created = upload(api(student), group, makers.png(), "a.png").json()
    message = services.send_message(
        sender=student, conversation_id=group.pk, content="see", client_id=uuid.uuid4()
    ).message
    Attachment.objects.filter(pk=created["id"]).update(message=message)
    response = api(student).delete(f"/api/attachments/{created['id']}/")
    assert response.status_code == 404
    assert Attachment.objects.filter(pk=created["id"]).exists()
    assert len(stored_files(media_root)) == 2


def test_a_sent_attachment_is_read_by_members_only(api, group, student, mentor, outsider):
    created = upload(api(student), group, makers.png(), "a.png").json()
    message = services.send_message(
        sender=student, conversation_id=group.pk, content="see", client_id=uuid.uuid4()
    ).message
    Attachment.objects.filter(pk=created["id"]).update(message=message)
    url = f"/api/attachments/{created['id']}/"
    assert api(mentor).get(url).json()["message_id"] == str(message.pk)
    assert api(outsider).get(url).status_code == 404
    services.delete_message(actor=student, message_id=message.pk)
    assert api(mentor).get(url).status_code == 404


# --- All or nothing -------------------------------------------------------------------


def test_a_failure_after_the_bytes_were_stored_removes_them(
    api, group, student, media_root, monkeypatch
):
    def failing_record(**kwargs):
        raise RuntimeError("the database went away")

    monkeypatch.setattr(uploads.audit, "record", failing_record)
    with pytest.raises(RuntimeError):
        uploads.create_upload(
            uploader=student,
            conversation_id=group.pk,
            upload=SimpleUploadedFile("a.png", makers.png()),
        )
    assert not Attachment.objects.exists()
    assert stored_files(media_root) == []


def test_the_quota_is_checked_again_when_the_upload_is_written(
    group, student, settings, monkeypatch, media_root
):
    """Another upload of the same person finished while this one was being
    processed and took the last of the quota: this one is refused at its
    insert, and its stored bytes removed."""
    settings.PARLEY = {**settings.PARLEY, "DAILY_UPLOAD_COUNT": 1}
    real_prepare = uploads.prepare

    def meanwhile(content, name):
        monkeypatch.setattr(uploads, "prepare", real_prepare)
        uploads.create_upload(
            uploader=student,
            conversation_id=group.pk,
            upload=SimpleUploadedFile("first.txt", b"first"),
        )
        return real_prepare(content, name)

    monkeypatch.setattr(uploads, "prepare", meanwhile)
    with pytest.raises(UploadQuotaExceeded):
        uploads.create_upload(
            uploader=student,
            conversation_id=group.pk,
            upload=SimpleUploadedFile("second.png", makers.png()),
        )
    assert list(Attachment.objects.values_list("name", flat=True)) == ["first.txt"]
    assert len(stored_files(media_root)) == 1
