"""Encrypted files (docs/e2e.md, "Files"): uploaded with encrypted=true,
stored opaque, sent only with an encrypted message, served as bytes."""

import base64
import hashlib
import os
import uuid

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.core.files.uploadedfile import SimpleUploadedFile

from messaging.files import storage
from messaging.files.models import Attachment, AttachmentKind, PreviewState
from tests.e2e.scheme import b64

pytestmark = [pytest.mark.services, pytest.mark.django_db]

# A real PNG's first bytes: a plain upload would be sniffed as one.
PNG_HEAD = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def encrypted_file(conversation_id, plain: bytes) -> tuple[bytes, dict]:
    key, nonce = os.urandom(32), os.urandom(12)
    ad = f"parley-e2e/v1 file\n{conversation_id}".encode()
    sealed = AESGCM(key).encrypt(nonce, plain, ad)
    return sealed, {"key": b64(key), "nonce": b64(nonce)}


def upload(api, user, conv, content: bytes, *, name="report.pdf", encrypted=None):
    data = {"file": SimpleUploadedFile(name, content, content_type="application/pdf")}
    if encrypted is not None:
        data["encrypted"] = encrypted
    return api(user).post(f"/api/conversations/{conv.pk}/attachments/", data, format="multipart")


def test_an_encrypted_upload_is_stored_opaque(api, e2e_msg_pair, e2e_msg_group):
    mentor, student = e2e_msg_pair
    sealed, _ = encrypted_file(e2e_msg_group.pk, b"the student's essay")
    # Whatever the bytes look like (here, a PNG's start), nobody sniffs them.
    sealed = PNG_HEAD + sealed
    answer = upload(api, mentor, e2e_msg_group, sealed, name="essay.png", encrypted="true")
    assert answer.status_code == 201, answer.json()
    stored = Attachment.objects.get(pk=answer.json()["id"])
    assert stored.kind == AttachmentKind.ENCRYPTED
    assert stored.content_type == "application/octet-stream"
    assert stored.name == stored.original_name == "encrypted.bin"
    assert stored.preview_state == PreviewState.NONE
    assert stored.thumbnail_key == "" and stored.extracted_text == ""
    assert stored.size == len(sealed)
    with storage.open_file(stored.storage_key) as handle:
        assert handle.read() == sealed  # not re-encoded
    assert "essay" not in str(answer.json())

    # Sent with an encrypted message, whose payload names the file.
    client_id, message = e2e_msg_group.seal(
        mentor,
        "see the file",
        files=[
            {
                "attachment_id": str(stored.pk),
                "name": "essay.png",
                "type": "image/png",
                "size": 10,
                "sha256": base64.b64encode(hashlib.sha256(sealed).digest()).decode(),
            }
        ],
    )
    sent = api(mentor).post(
        f"/api/conversations/{e2e_msg_group.pk}/messages/",
        {"client_id": str(client_id), "e2e": message.e2e, "attachments": [str(stored.pk)]},
        format="json",
    )
    assert sent.status_code == 201, sent.json()
    assert sent.json()["message_type"] == "encrypted"
    assert [a["id"] for a in sent.json()["attachments"]] == [str(stored.pk)]

    # The other member downloads the bytes as they were uploaded.
    download = api(student).get(sent.json()["attachments"][0]["url"])
    assert download.status_code == 200
    assert download["Content-Type"] == "application/octet-stream"
    assert download["Content-Disposition"].startswith("attachment")
    assert b"".join(download.streaming_content) == sealed


def test_encryption_must_match_the_conversation(api, e2e_msg_pair, e2e_msg_group, e2e_msg_plain):
    mentor, _ = e2e_msg_pair
    plain_in_encrypted = upload(api, mentor, e2e_msg_group, b"%PDF-1.4 in the clear")
    assert plain_in_encrypted.status_code == 400
    assert plain_in_encrypted.json()["error"]["code"] == "e2e_required"
    encrypted_in_plain = upload(api, mentor, e2e_msg_plain, os.urandom(64), encrypted="true")
    assert encrypted_in_plain.status_code == 400
    assert encrypted_in_plain.json()["error"]["code"] == "e2e_not_allowed"
    odd = upload(api, mentor, e2e_msg_group, os.urandom(64), encrypted="yes")
    assert (odd.status_code, odd.json()["error"]["code"]) == (400, "invalid")
    assert not Attachment.objects.exists()


def test_size_and_quota_limits_apply(api, e2e_msg_pair, e2e_msg_group, settings):
    mentor, _ = e2e_msg_pair
    settings.PARLEY = {**settings.PARLEY, "MAX_UPLOAD_BYTES": 1000, "DAILY_UPLOAD_COUNT": 1}
    too_big = upload(api, mentor, e2e_msg_group, os.urandom(1001), encrypted="true")
    assert too_big.status_code == 413
    empty = upload(api, mentor, e2e_msg_group, b"", encrypted="true")
    assert empty.json()["error"]["code"] == "empty_file"
    first = upload(api, mentor, e2e_msg_group, os.urandom(100), encrypted="true")
    assert first.status_code == 201
    second = upload(api, mentor, e2e_msg_group, os.urandom(100), encrypted="true")
    assert (second.status_code, second.json()["error"]["code"]) == (429, "upload_quota")


def test_a_plain_send_cannot_attach_an_encrypted_upload_nor_the_reverse(
    api, e2e_msg_pair, e2e_msg_group, e2e_msg_plain
):
    """Only through the ORM could the two meet (the upload checks the
    conversation): the send checks them again."""
    from messaging import services
    from messaging.errors import InvalidInput

    mentor, _ = e2e_msg_pair
    encrypted = Attachment.objects.create(
        conversation=e2e_msg_plain,
        uploader=mentor,
        original_name="encrypted.bin",
        name="encrypted.bin",
        size=3,
        content_type="application/octet-stream",
        kind=AttachmentKind.ENCRYPTED,
        sha256="0" * 64,
        storage_key="nowhere",
    )
    with pytest.raises(InvalidInput):
        services.send_message(
            sender=mentor,
            conversation_id=e2e_msg_plain.pk,
            content="",
            client_id=uuid.uuid4(),
            attachment_ids=[encrypted.pk],
        )
    pdf = Attachment.objects.create(
        conversation=e2e_msg_group.conversation,
        uploader=mentor,
        original_name="plain.pdf",
        name="plain.pdf",
        size=3,
        content_type="application/pdf",
        kind=AttachmentKind.PDF,
        sha256="0" * 64,
        storage_key="nowhere",
    )
    client_id, sealed = e2e_msg_group.seal(mentor, "with a plain file")
    with pytest.raises(InvalidInput):
        services.send_message(
            sender=mentor,
            conversation_id=e2e_msg_group.pk,
            content="",
            client_id=client_id,
            e2e=sealed.e2e,
            attachment_ids=[pdf.pk],
        )
    assert not Attachment.objects.filter(message__isnull=False).exists()


def test_a_resend_with_files_is_the_same_message(api, e2e_msg_pair, e2e_msg_group):
    mentor, _ = e2e_msg_pair
    sealed_file, _ = encrypted_file(e2e_msg_group.pk, b"notes")
    uploaded = upload(api, mentor, e2e_msg_group, sealed_file, encrypted="true").json()
    client_id, message = e2e_msg_group.seal(mentor, "")
    body = {"client_id": str(client_id), "e2e": message.e2e, "attachments": [uploaded["id"]]}
    url = f"/api/conversations/{e2e_msg_group.pk}/messages/"
    first = api(mentor).post(url, body, format="json")
    again = api(mentor).post(url, body, format="json")
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["id"] == first.json()["id"]
