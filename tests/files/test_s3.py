"""The production storage against a real S3-compatible server process
(moto's server mode, started here): Parley checks access, then answers 302
to a short-lived signed URL whose content type and disposition are fixed in
its query; a plain HTTP client gets the bytes from it; the site's CSP lets
pages load those images; the purge removes objects from the bucket.

Expiry: moto (5.x) does not enforce ``X-Amz-Expires`` on presigned URLs (an
expired URL still answers 200 there), so the tests check that every URL
Parley hands out carries ``X-Amz-Expires`` equal to
``FILE_URL_EXPIRY_SECONDS``; S3 itself refuses such a URL after that time.
"""

import subprocess
import time
import urllib.error
import urllib.request
import uuid
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import boto3
import pytest
from botocore.config import Config
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import Role
from config.middleware import storage_origins
from messaging import services
from messaging.files import storage
from messaging.files.models import AttachmentKind
from messaging.files.services.purge import purge_expired
from messaging.models import AuditAction, AuditLog
from tests.files import makers
from tests.files.factories import make_attachment, stored_keys
from tests.servers import ROOT, free_port

pytestmark = [pytest.mark.services, pytest.mark.django_db]

BUCKET = "parley-files-test"
CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
FILE_CSP = "default-src 'none'; sandbox"


@pytest.fixture(scope="module")
def s3_endpoint():
    """A moto server process on a free port, answering before the tests
    start; stopped after the module."""
    port = free_port()
    endpoint = f"http://127.0.0.1:{port}"
    process = subprocess.Popen(
        [str(ROOT / ".venv" / "bin" / "moto_server"), "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"{endpoint}/moto-api/", timeout=1):
                    break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError("moto_server did not start") from None
                time.sleep(0.1)  # polling for the server, with a deadline
        client = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1", **CREDENTIALS)
        client.create_bucket(Bucket=BUCKET)
        yield endpoint
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)


@pytest.fixture
def s3_storage(settings, s3_endpoint):
    """``STORAGES["default"]`` as the production profile makes it
    (config/settings.py, "Files"), against the moto server."""
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "storages.backends.s3.S3Storage",
            "OPTIONS": {
                "bucket_name": BUCKET,
                "endpoint_url": s3_endpoint,
                "region_name": "us-east-1",
                "access_key": "testing",
                "secret_key": "testing",
                "default_acl": None,
                "querystring_auth": True,
                "file_overwrite": False,
                "client_config": Config(
                    connect_timeout=5,
                    read_timeout=10,
                    retries={"max_attempts": 2, "mode": "standard"},
                    signature_version="s3v4",
                ),
            },
        },
    }
    assert type(storage.backend()).__name__ == "S3Storage"
    return s3_endpoint


@pytest.fixture
def group(mentor, student, assigned):
    return services.create_conversation(
        creator=mentor, kind="group", participants=[student], title="Drafts"
    )


def sent(user, conversation, attachment):
    services.send_message(
        sender=user,
        conversation_id=conversation.pk,
        content="",
        client_id=uuid.uuid4(),
        attachment_ids=[attachment.pk],
    )
    attachment.refresh_from_db()
    return attachment


def client_for(user) -> APIClient:
    client = APIClient()
    client.force_login(user)
    return client


def query_of(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


def fetch(url: str):
    """A plain HTTP client (no credentials, no cookies), as a browser
    following the redirect."""
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.status, response.headers, response.read()


def test_content_redirects_to_a_signed_url_with_type_and_disposition(
    s3_storage, student, mentor, group
):
    image = sent(student, group, make_attachment(uploader=student, conversation=group))
    response = client_for(mentor).get(f"/api/attachments/{image.pk}/content/")
    assert response.status_code == 302
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Security-Policy"] == FILE_CSP
    assert response["Cache-Control"] == "private, no-store"
    location = response["Location"]
    assert location.startswith(f"{s3_storage}/{BUCKET}/attachments/")
    query = query_of(location)
    assert query["X-Amz-Algorithm"] == "AWS4-HMAC-SHA256"
    assert query["X-Amz-Signature"] and query["X-Amz-Credential"].startswith("testing/")
    assert query["response-content-type"] == "image/png"
    assert query["response-content-disposition"] == 'inline; filename="diagram.png"'
    assert query["X-Amz-Expires"] == "60"
    # The check is the fetch: audited as one.
    assert AuditLog.objects.filter(
        action=AuditAction.FILE_DOWNLOAD, details__attachment_id=str(image.pk)
    ).exists()

    status, headers, body = fetch(location)
    assert status == 200
    assert body == makers.png()
    assert headers["Content-Type"] == "image/png"
    assert headers["Content-Disposition"] == 'inline; filename="diagram.png"'


def test_documents_thumbnails_and_pages_are_signed_too(s3_storage, student, mentor, group):
    document = sent(
        student,
        group,
        make_attachment(
            uploader=student, conversation=group, kind=AttachmentKind.PDF, preview_pages=1
        ),
    )
    image = sent(student, group, make_attachment(uploader=student, conversation=group))
    client = client_for(mentor)

    content = client.get(f"/api/attachments/{document.pk}/content/")
    assert content.status_code == 302
    query = query_of(content["Location"])
    assert query["response-content-type"] == "application/pdf"
    assert query["response-content-disposition"] == 'attachment; filename="draft.pdf"'
    status, headers, body = fetch(content["Location"])
    assert body.startswith(b"%PDF")
    assert headers["Content-Disposition"] == 'attachment; filename="draft.pdf"'

    forced = client.get(f"/api/attachments/{image.pk}/content/?download=1")
    assert query_of(forced["Location"])["response-content-disposition"].startswith("attachment;")

    for url, content_type in (
        (f"/api/attachments/{image.pk}/thumbnail/", "image/webp"),
        (f"/api/attachments/{document.pk}/preview/1/", "image/png"),
    ):
        response = client.get(url)
        assert response.status_code == 302, url
        query = query_of(response["Location"])
        assert query["response-content-type"] == content_type
        assert query["response-content-disposition"].startswith("inline;")
        status, headers, body = fetch(response["Location"])
        assert status == 200 and headers["Content-Type"] == content_type


def test_no_redirect_for_those_who_may_not_fetch(s3_storage, student, group, make_user):
    image = sent(student, group, make_attachment(uploader=student, conversation=group))
    response = client_for(make_user(Role.STUDENT)).get(f"/api/attachments/{image.pk}/content/")
    assert response.status_code == 404
    assert "Location" not in response
    assert APIClient().get(f"/api/attachments/{image.pk}/content/").status_code == 401


def test_signed_urls_expire_after_the_setting(s3_storage, student, mentor, group, settings):
    """moto does not enforce expiry (see the module's docstring): the URL
    must say the configured lifetime, which S3 enforces."""
    settings.PARLEY = {**settings.PARLEY, "FILE_URL_EXPIRY_SECONDS": 7}
    image = sent(student, group, make_attachment(uploader=student, conversation=group))
    response = client_for(mentor).get(f"/api/attachments/{image.pk}/content/")
    query = query_of(response["Location"])
    assert query["X-Amz-Expires"] == "7"
    signed_at = datetime.strptime(query["X-Amz-Date"], "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    assert abs(signed_at - timezone.now()) < timedelta(minutes=5)


def test_pages_may_load_images_from_the_storage(s3_storage, client):
    policy = client.get("/login/")["Content-Security-Policy"]
    img_src = next(d for d in policy.split("; ") if d.startswith("img-src "))
    assert s3_storage in img_src.split()
    # Nothing else changes.
    assert "script-src 'self';" in policy and "connect-src 'self';" in policy


def test_the_site_policy_names_no_storage_on_the_filesystem(client):
    policy = client.get("/login/")["Content-Security-Policy"]
    assert "img-src 'self' data: blob:;" in policy


def test_purge_removes_the_objects_from_the_bucket(s3_storage, student, group):
    old = make_attachment(
        uploader=student, conversation=group, created_at=timezone.now() - timedelta(days=2)
    )
    keys = stored_keys(old)
    client = boto3.client("s3", endpoint_url=s3_storage, region_name="us-east-1", **CREDENTIALS)
    assert all(client.head_object(Bucket=BUCKET, Key=k) for k in keys)
    assert purge_expired() == 1
    for key in keys:
        with pytest.raises(client.exceptions.ClientError):
            client.head_object(Bucket=BUCKET, Key=key)


def test_storage_origins_for_aws_and_for_an_endpoint():
    aws = {
        "OPTIONS": {"querystring_auth": True, "bucket_name": "files", "region_name": "eu-west-1"}
    }
    assert storage_origins(aws) == [
        "https://files.s3.amazonaws.com",
        "https://files.s3.eu-west-1.amazonaws.com",
    ]
    minio = {
        "OPTIONS": {
            "querystring_auth": True,
            "bucket_name": "files",
            "endpoint_url": "https://minio.example.org:9000/base",
        }
    }
    assert storage_origins(minio) == [
        "https://minio.example.org:9000",
        "https://files.minio.example.org:9000",
    ]
    assert storage_origins({"BACKEND": "django.core.files.storage.FileSystemStorage"}) == []
