"""Uploads against a real daphne process, as clients send them: a file
stored through the server's own storage, an oversized one refused in the
API's shape with nothing stored, and the keep-alive connection still
serving the next request."""

import http.client
import json

import pytest

from accounts import services as account_services
from messaging.files.models import Attachment
from tests.files import makers, uploading
from tests.files.uploading import raw_multipart, stored_files, upload_url

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]

group = uploading.group  # fixture


def test_upload_through_a_real_server(asgi_server, group, student, tmp_path):
    media = tmp_path / "server-media"
    server = asgi_server(extra_env={"MEDIA_ROOT": str(media), "PARLEY_MAX_UPLOAD_BYTES": "100000"})
    token = account_services.issue_api_token(user=student)
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
    try:

        def post(content: bytes, name: str):
            body, content_type = raw_multipart(content, name)
            headers = {"Authorization": f"Token {token}", "Content-Type": content_type}
            connection.request("POST", upload_url(group), body, headers)
            response = connection.getresponse()
            return response.status, response.getheader("Content-Type"), json.loads(response.read())

        status, content_type, body = post(makers.jpeg_with_exif_rotation(), "../../photo.jpg")
        assert status == 201, body
        assert (body["name"], body["width"], body["height"]) == ("photo.jpg", 30, 60)
        attachment = Attachment.objects.get(pk=body["id"])
        assert (media / attachment.storage_key).is_file()
        assert (media / attachment.thumbnail_key).is_file()

        status, content_type, body = post(b"a" * 150_000, "big.txt")
        assert status == 413, body
        assert content_type.startswith("application/json")
        assert body["error"]["code"] == "file_too_large"

        status, _, body = post(makers.html_page(), "page.txt")
        assert (status, body["error"]["code"]) == (415, "unsupported_file")

        # The same connection goes on working.
        connection.request("GET", "/api/me/", headers={"Authorization": f"Token {token}"})
        response = connection.getresponse()
        assert response.status == 200
        response.read()
    finally:
        connection.close()
    assert Attachment.objects.count() == 1
    assert len(stored_files(media)) == 2
    assert "Traceback" not in server.log()
